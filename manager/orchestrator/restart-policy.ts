/**
 * The restart supervisor's decision, pure: given a service's RestartPolicy (Docker's shape, durations in
 * nanoseconds), how the task ended and when its slot was restarted before, should a replacement start,
 * and after what delay. SwarmKit's rules: condition "any" (the default) restarts after any end,
 * "on-failure" only after a failure or rejection, "none" never; MaxAttempts (0 = unlimited) counts the
 * restarts within Window (0 = since the slot began).
 */

export interface RestartPolicySpec {
  Condition?: 'none' | 'on-failure' | 'any';
  /** nanoseconds; default 5 s */
  Delay?: number;
  /** 0 or absent = unlimited */
  MaxAttempts?: number;
  /** nanoseconds; 0 or absent = no window */
  Window?: number;
}

export type TaskEnd = 'complete' | 'failed' | 'rejected' | 'shutdown' | 'orphaned';

export const DEFAULT_RESTART_DELAY_NS = 5_000_000_000;

export type RestartDecision = { restart: true; delayMs: number } | { restart: false; reason: string };

const NS_PER_MS = 1_000_000;

/**
 * @param restartsMs times (ms since the epoch) at which this slot was restarted before
 * @param nowMs the current time, injected
 */
export function decideRestart(policy: RestartPolicySpec | undefined, end: TaskEnd, restartsMs: readonly number[], nowMs: number): RestartDecision {
  const condition = policy?.Condition ?? 'any';
  if (end === 'shutdown') return { restart: false, reason: 'the task was shut down on purpose' };
  if (condition === 'none') return { restart: false, reason: 'restart condition is none' };
  if (condition === 'on-failure' && end === 'complete') return { restart: false, reason: 'the task completed and the restart condition is on-failure' };
  const max = policy?.MaxAttempts ?? 0;
  if (max > 0) {
    const windowMs = (policy?.Window ?? 0) / NS_PER_MS;
    const counted = windowMs > 0 ? restartsMs.filter((t) => t > nowMs - windowMs).length : restartsMs.length;
    if (counted >= max) {
      return { restart: false, reason: `restart attempts exhausted (${counted} of ${max}${windowMs > 0 ? ` within ${windowMs / 1000}s` : ''})` };
    }
  }
  return { restart: true, delayMs: (policy?.Delay ?? DEFAULT_RESTART_DELAY_NS) / NS_PER_MS };
}
