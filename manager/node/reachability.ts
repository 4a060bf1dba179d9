/**
 * Which Raft peers the leader hears from: a peer is reachable while it answered within
 * `unreachableAfterMs` (the core's recentActive flag is cleared every election timeout by CheckQuorum,
 * so one sample is not enough). Pure: the caller passes the time and the core's progress.
 */
export class ReachabilityTracker {
  private readonly lastActive = new Map<number, number>();

  constructor(private readonly unreachableAfterMs: number) {}

  /** Everyone counts as just heard from (a new leader has not had time to hear from anyone). */
  reset(ids: Iterable<number>, now: number): void {
    this.lastActive.clear();
    for (const id of ids) this.lastActive.set(id, now);
  }

  observe(now: number, progress: ReadonlyMap<number, { recentActive: boolean }> | undefined): void {
    if (!progress) return;
    for (const [id, p] of progress) {
      if (p.recentActive || !this.lastActive.has(id)) this.lastActive.set(id, p.recentActive ? now : (this.lastActive.get(id) ?? now));
    }
  }

  reachable(id: number, now: number): boolean {
    const t = this.lastActive.get(id);
    return t !== undefined && now - t <= this.unreachableAfterMs;
  }
}
