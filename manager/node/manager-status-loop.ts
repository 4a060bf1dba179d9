/**
 * A leader loop keeping every manager's ManagerStatus (Leader, Reachability) in the store true to what
 * the leader sees of Raft, so `docker node ls` shows Leader / Reachable / Unreachable and agents get a
 * manager list without dead managers. Writes only what changed.
 */
import { ReconcileLoop, type Timers } from '../orchestrator/loop-base.js';
import type { ManagerStatus, TableName } from '../store/index.js';
import type { RaftView } from './raft-view.js';

export class ManagerStatusLoop extends ReconcileLoop {
  readonly name = 'manager-status';
  protected readonly tables: readonly TableName[] = ['nodes'];

  constructor(
    private readonly raft: RaftView,
    timers?: Timers,
    private readonly periodMs = 1000,
  ) {
    super(timers);
  }

  private timer: unknown;
  private live = false;

  protected override onStart(): void {
    this.live = true;
    this.schedule();
  }

  private schedule(): void {
    this.timer = this.timers.setTimeout(() => {
      if (!this.live) return;
      this.kick();
      this.schedule();
    }, this.periodMs);
  }

  protected override onStop(): void {
    this.live = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  protected async reconcile(): Promise<void> {
    if (!this.raft.isLeader()) return;
    const now = this.ctx.now();
    const voters = new Map(this.raft.voters(now).map((v) => [v.id, v.reachable]));
    const members = new Set(this.raft.status().members.map((m) => m.id));
    const changes = this.ctx.store.view((tx) =>
      tx
        .find('nodes')
        .filter((n) => n.ManagerStatus?.RaftID !== undefined)
        .map((n) => {
          const ms = n.ManagerStatus!;
          const id = ms.RaftID!;
          const leader = id === this.raft.selfId;
          const reachable = leader || (members.has(id) && (voters.get(id) ?? true));
          const want: ManagerStatus = { ...ms, Leader: leader, Reachability: reachable ? 'reachable' : 'unreachable' };
          return ms.Leader === want.Leader && ms.Reachability === want.Reachability ? undefined : { id: n.ID, want };
        })
        .filter((c) => c !== undefined),
    );
    if (changes.length > 0) {
      await this.ctx.store.update((tx) => {
        for (const c of changes) {
          const n = tx.get('nodes', c.id);
          if (n && n.ManagerStatus?.RaftID === c.want.RaftID) tx.update('nodes', { ...n, ManagerStatus: c.want });
        }
      });
    }
  }
}
