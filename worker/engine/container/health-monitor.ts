/**
 * Docker's HEALTHCHECK: every Interval run the test (CMD / CMD-SHELL) with a Timeout; Retries consecutive
 * failures make the container unhealthy, one success healthy; failures inside StartPeriod do not count.
 * The last 5 results are kept.
 */
import type { HealthConfig, HealthResult, HealthState } from './types.js';

const NS = 1_000_000;
export const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };
export const HEALTH_LOG_SIZE = 5;

export interface HealthPlan {
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

/** Merges the request's and the image's Healthcheck; undefined = no health check. */
export function healthPlan(req: HealthConfig | undefined, image: HealthConfig | undefined): HealthPlan | undefined {
  const test = req?.Test && req.Test.length > 0 ? req.Test : image?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  let cmd: string[];
  if (test[0] === 'CMD') cmd = test.slice(1);
  else if (test[0] === 'CMD-SHELL') cmd = ['/bin/sh', '-c', test.slice(1).join(' ')];
  else cmd = ['/bin/sh', '-c', test.join(' ')];
  if (cmd.length === 0) return undefined;
  const pick = (k: 'Interval' | 'Timeout' | 'StartPeriod', dflt: number): number => {
    const v = req?.[k] || image?.[k];
    return v && v > 0 ? Math.max(1, Math.round(v / NS)) : dflt;
  };
  const retries = req?.Retries || image?.Retries;
  return {
    cmd,
    intervalMs: pick('Interval', HEALTH_DEFAULTS.intervalMs),
    timeoutMs: pick('Timeout', HEALTH_DEFAULTS.timeoutMs),
    retries: retries && retries > 0 ? retries : HEALTH_DEFAULTS.retries,
    startPeriodMs: pick('StartPeriod', HEALTH_DEFAULTS.startPeriodMs),
  };
}

/** Applies one probe result to the health state (pure). */
export function applyResult(s: HealthState, r: HealthResult, retries: number, inStartPeriod: boolean): HealthState {
  const log = [...s.Log, r].slice(-HEALTH_LOG_SIZE);
  if (r.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log: log };
  if (inStartPeriod && s.Status === 'starting') return { Status: 'starting', FailingStreak: s.FailingStreak, Log: log };
  const streak = s.FailingStreak + 1;
  return { Status: streak >= retries ? 'unhealthy' : s.Status, FailingStreak: streak, Log: log };
}

export type ProbeRunner = (cmd: string[], timeoutMs: number) => Promise<{ code: number; output: string; timedOut: boolean }>;

export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly plan: HealthPlan,
    private state: HealthState,
    private readonly run: ProbeRunner,
    private readonly onChange: (s: HealthState, statusChanged: boolean) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.plan.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const start = new Date();
    let res: { code: number; output: string; timedOut: boolean };
    try {
      res = await this.run(this.plan.cmd, this.plan.timeoutMs);
    } catch (e) {
      res = { code: -1, output: e instanceof Error ? e.message : String(e), timedOut: false };
    }
    if (this.stopped) return;
    const result: HealthResult = {
      Start: start.toISOString(),
      End: new Date().toISOString(),
      ExitCode: res.timedOut ? -1 : res.code,
      Output: res.timedOut ? `Health check exceeded timeout (${this.plan.timeoutMs}ms)` : res.output.slice(0, 4096),
    };
    const before = this.state.Status;
    this.state = applyResult(this.state, result, this.plan.retries, Date.now() - this.startedAt < this.plan.startPeriodMs);
    this.onChange(this.state, before !== this.state.Status);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
