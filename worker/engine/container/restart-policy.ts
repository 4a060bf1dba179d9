/** Docker's restart policies for standalone containers and the backoff between restarts. */
import { badRequest } from './errors.js';
import type { RestartPolicy } from './types.js';

export type RestartDecision = { restart: false } | { restart: true; delayMs: number };

export function validateRestartPolicy(p: RestartPolicy | undefined, autoRemove: boolean): void {
  const name = p?.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) throw badRequest(`invalid restart policy '${name}'`);
  if ((p?.MaximumRetryCount ?? 0) < 0) throw badRequest('invalid restart policy: maximum retry count cannot be negative');
  if (name !== 'on-failure' && (p?.MaximumRetryCount ?? 0) > 0) throw badRequest(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (autoRemove && name !== '' && name !== 'no') throw badRequest('conflicting options: cannot specify both --restart and --rm');
}

/**
 * Decides after an exit. `manualStop` (stop/kill by the user) never restarts. `lastDelayMs` doubles from
 * 100 ms (Docker's backoff) unless the container ran at least 10 s, which resets it.
 */
export function decideRestart(p: RestartPolicy | undefined, o: { exitCode: number; manualStop: boolean; restartCount: number; ranMs: number; lastDelayMs: number }): RestartDecision {
  const name = p?.Name ?? '';
  if (o.manualStop || name === '' || name === 'no') return { restart: false };
  if (name === 'on-failure') {
    if (o.exitCode === 0) return { restart: false };
    const max = p?.MaximumRetryCount ?? 0;
    if (max > 0 && o.restartCount >= max) return { restart: false };
  }
  const delayMs = o.ranMs >= 10_000 || o.lastDelayMs === 0 ? 100 : Math.min(o.lastDelayMs * 2, 60_000);
  return { restart: true, delayMs };
}
