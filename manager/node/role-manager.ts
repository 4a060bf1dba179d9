/**
 * The role manager (SwarmKit's manager/role_manager.go), a leader loop: reconciles each node's desired
 * role (Spec.Role) with its role (Role). A promotion sets Role at once (the node then renews its
 * certificate as a manager and joins Raft itself). A demotion removes the node from Raft first — only
 * if the remaining reachable voters are still a quorum, and from another manager when the node is the
 * leader (leadership is transferred first) — and only then sets Role, so the node gets a worker
 * certificate. Refused or failed steps are retried.
 */
import { ReconcileLoop, type Timers } from '../orchestrator/loop-base.js';
import type { Node, TableName } from '../store/index.js';
import { canRemoveMember } from './quorum.js';
import type { RaftView } from './raft-view.js';

export class RoleManager extends ReconcileLoop {
  readonly name = 'role-manager';
  protected readonly tables: readonly TableName[] = ['nodes'];

  constructor(
    private readonly raft: RaftView,
    timers?: Timers,
    private readonly retryMs = 1000,
  ) {
    super(timers);
  }

  protected async reconcile(): Promise<void> {
    const nodes = this.ctx.store.view((tx) => tx.find('nodes')).filter((n) => n.Spec.Role !== n.Role);
    let pending = false;
    for (const n of nodes) {
      if (!this.raft.isLeader()) return;
      if (n.Spec.Role === 'manager') await this.setRole(n.ID, 'manager');
      else if (!(await this.demote(n))) pending = true;
    }
    if (pending) this.kickAfter(this.retryMs);
  }

  /** True when the demotion is done. */
  private async demote(n: Node): Promise<boolean> {
    const raftId = n.ManagerStatus?.RaftID;
    const member = raftId !== undefined && this.raft.status().members.some((m) => m.id === raftId);
    if (member) {
      if (raftId === this.raft.selfId) {
        const now = this.ctx.now();
        const to = this.raft.voters(now).find((v) => v.id !== raftId && v.reachable);
        if (!to) {
          this.ctx.log.warn({ node: n.ID }, 'cannot demote the leader: no other reachable manager to hand leadership to');
          return false;
        }
        this.ctx.log.info({ node: n.ID, to: to.id }, 'demoting the leader: transferring leadership first');
        await this.raft.transferLeadership(to.id).catch((e: unknown) => this.ctx.log.warn({ err: (e as Error).message }, 'leadership transfer failed'));
        return false;
      }
      const d = canRemoveMember(this.raft.voters(this.ctx.now()), raftId);
      if (!d.ok) {
        this.ctx.log.warn({ node: n.ID, reason: d.message }, 'demotion waits');
        return false;
      }
      await this.raft.removeMember(raftId);
      this.ctx.log.info({ node: n.ID, raftId }, 'removed the demoted manager from raft');
    }
    await this.setRole(n.ID, 'worker');
    return true;
  }

  private async setRole(id: string, role: 'manager' | 'worker'): Promise<void> {
    await this.ctx.store.update((tx) => {
      const n = tx.get('nodes', id);
      if (!n || n.Role === role || n.Spec.Role !== role) return;
      const { ManagerStatus: _drop, ...rest } = n;
      tx.update('nodes', role === 'worker' ? { ...rest, Role: role } : { ...n, Role: role });
    });
  }
}
