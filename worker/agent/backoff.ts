/** Reconnect delays, pure: exponential from `baseMs`, capped at `maxMs`, with jitter in [cap/2, cap). */
export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffConfig = { baseMs: 100, maxMs: 8000 };

export function backoffDelay(attempt: number, random: number, c: BackoffConfig = DEFAULT_BACKOFF): number {
  const cap = Math.min(c.maxMs, c.baseMs * 2 ** Math.min(30, Math.max(0, attempt)));
  return Math.round(cap / 2 + (cap / 2) * random);
}
