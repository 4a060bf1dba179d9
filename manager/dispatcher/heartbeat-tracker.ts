/**
 * Heartbeat tracking, pure: time and randomness come in as arguments. A node's deadline is its last
 * heartbeat plus `missedLimit` periods; a node whose deadline passes is down. After this manager gains
 * leadership every known node gets a grace deadline of twice that window (SwarmKit's
 * gracePeriodMultiplierUnknown) before it can be marked down: its agent must first notice that the old
 * leader is gone and find the new one through its reconnect backoff, so a leader change alone never
 * marks a live node down.
 */
export const DEFAULT_HEARTBEAT_PERIOD_MS = 5000;
export const MISSED_HEARTBEATS_DOWN = 3;
/** the grace after a leader change, as a multiple of the down window (SwarmKit: 2) */
export const LEADER_CHANGE_GRACE_FACTOR = 2;
/** periods are jittered by up to this fraction so that thousands of agents do not beat in step */
export const HEARTBEAT_JITTER = 0.25;

export interface HeartbeatConfig {
  periodMs: number;
  missedLimit?: number;
}

export class HeartbeatTracker {
  private readonly deadlines = new Map<string, number>();

  constructor(private config: HeartbeatConfig) {}

  setPeriod(periodMs: number): void {
    this.config = { ...this.config, periodMs };
  }

  get periodMs(): number {
    return this.config.periodMs;
  }

  private window(): number {
    return this.config.periodMs * (this.config.missedLimit ?? MISSED_HEARTBEATS_DOWN);
  }

  /** The grace after a leader change: every node listed may not be marked down before now + 2 × window. */
  grace(nodeIds: Iterable<string>, now: number): void {
    for (const id of nodeIds) this.deadlines.set(id, now + LEADER_CHANGE_GRACE_FACTOR * this.window());
  }

  /** Records a heartbeat; returns the period (jittered) the agent should wait before the next one. */
  beat(nodeId: string, now: number, random: number): number {
    this.deadlines.set(nodeId, now + this.window());
    return nextPeriod(this.config.periodMs, random);
  }

  /** Nodes whose deadline is at or before `now`; they are forgotten (a new beat tracks them again). */
  expire(now: number): string[] {
    const out: string[] = [];
    for (const [id, d] of this.deadlines) {
      if (d <= now) {
        out.push(id);
        this.deadlines.delete(id);
      }
    }
    return out;
  }

  /** The earliest deadline, for the driver's timer. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const d of this.deadlines.values()) if (min === undefined || d < min) min = d;
    return min;
  }

  deadlineOf(nodeId: string): number | undefined {
    return this.deadlines.get(nodeId);
  }

  forget(nodeId: string): void {
    this.deadlines.delete(nodeId);
  }

  get size(): number {
    return this.deadlines.size;
  }
}

/** The period an agent is told: the configured one shortened by up to HEARTBEAT_JITTER (never longer). */
export function nextPeriod(periodMs: number, random: number): number {
  return Math.max(1, Math.round(periodMs * (1 - HEARTBEAT_JITTER * random)));
}
