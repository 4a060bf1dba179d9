/**
 * The task reaper: deletes tasks marked for removal once they ended (or never reached a node), and keeps
 * at most Cluster.Spec.Orchestration.TaskHistoryRetentionLimit tasks per slot (replicated) or per node
 * (global), deleting the oldest ended ones first.
 */
import type { TableName, Task } from '../store/index.js';
import { ReconcileLoop } from './loop-base.js';
import { isTerminal, stateOrder } from './task-state.js';

export class ReaperLoop extends ReconcileLoop {
  readonly name = 'reaper';
  protected readonly tables: readonly TableName[] = ['tasks', 'clusters'];

  protected async reconcile(): Promise<void> {
    const doomed = this.ctx.store.view((tx) => {
      const limit = tx.find('clusters')[0]?.Spec.Orchestration.TaskHistoryRetentionLimit ?? 5;
      const out: string[] = [];
      const groups = new Map<string, Task[]>();
      for (const t of tx.find('tasks')) {
        if (t.DesiredState === 'remove' && (isTerminal(t.Status.State) || !t.NodeID || stateOrder(t.Status.State) < stateOrder('assigned'))) {
          out.push(t.ID);
          continue;
        }
        // global tasks have slot 0 and a node; job tasks are grouped by slot and run
        const k = t.Slot > 0 || t.JobIteration ? `${t.ServiceID}/${t.Slot}/${t.JobIteration?.Index ?? ''}` : `${t.ServiceID}/${t.NodeID}`;
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(t);
      }
      if (limit >= 0) {
        for (const g of groups.values()) {
          if (g.length <= limit) continue;
          const old = g
            .filter((t) => stateOrder(t.DesiredState) > stateOrder('running') && isTerminal(t.Status.State))
            .sort((a, b) => a.Meta.CreatedAt.localeCompare(b.Meta.CreatedAt) || a.Meta.Version.Index - b.Meta.Version.Index);
          for (const t of old.slice(0, g.length - Math.max(limit, 1))) out.push(t.ID);
        }
      }
      return out;
    });
    if (doomed.length === 0) return;
    await this.ctx.store.batch(async (b) => {
      for (const id of doomed) {
        await b.update((tx) => {
          if (tx.get('tasks', id)) tx.delete('tasks', id);
        });
      }
    });
  }
}
