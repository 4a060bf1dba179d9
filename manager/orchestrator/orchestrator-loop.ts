/**
 * The orchestrator loop: for every service, the tasks it should have.
 * - replicated: one runnable task per slot 1…Replicas (scale up creates slots, scale down removes the
 *   highest / least useful, see replicated-reconcile.ts);
 * - global: one task on every eligible node (ready, not drained, constraints and platform satisfied);
 * - replicated job: MaxConcurrent at a time until TotalCompletions tasks completed; global job: one task
 *   per eligible node, run once;
 * - restart supervisor: a task that ended while meant to run is replaced in its slot (or on its node)
 *   after RestartPolicy.Delay, if the policy allows (condition, max attempts within the window);
 * - tasks on nodes that went down or were drained are shut down and replaced elsewhere; tasks on nodes
 *   that no longer satisfy the constraints (labels changed) likewise (constraint enforcer);
 * - tasks of deleted services are marked for removal (the reaper deletes them).
 */
import { nodeMatches, parseConstraints } from '../scheduler/constraint.js';
import { generateId, type Node, type Service, type TableName, type Task, type TaskState } from '../store/index.js';
import { ReconcileLoop } from './loop-base.js';
import { reconcileReplicated, type SlotTask } from './replicated-reconcile.js';
import { decideRestart, type TaskEnd } from './restart-policy.js';
import { currentJobIteration, jobIterationOf, modeKind, newTask, nodeInvalid } from './task-factory.js';
import { toSchedNode } from './scheduler-loop.js';
import { isTerminal, stateOrder } from './task-state.js';

type Write =
  | { kind: 'create'; service: Service; slot: number; nodeId?: string; desired: TaskState; delayMs: number }
  | { kind: 'desired'; taskId: string; desired: TaskState; reason?: string };

const runnableDesired = (t: Task): boolean => stateOrder(t.DesiredState) <= stateOrder('running');

function endOf(s: TaskState): TaskEnd {
  return s === 'complete' ? 'complete' : s === 'rejected' ? 'rejected' : s === 'shutdown' ? 'shutdown' : s === 'orphaned' ? 'orphaned' : 'failed';
}

/** Whether the node may run a task of this service (global modes). */
export function nodeEligible(n: Node, s: Service): boolean {
  if (n.Status.State !== 'ready' || n.Spec.Availability !== 'active') return false;
  const pl = s.Spec.TaskTemplate.Placement;
  try {
    if (!nodeMatches(toSchedNode(n), parseConstraints(pl?.Constraints ?? []))) return false;
  } catch {
    return false;
  }
  const plats = pl?.Platforms ?? [];
  return plats.length === 0 || plats.some((p) => (!p.OS || p.OS.toLowerCase() === n.Description.Platform.OS.toLowerCase()));
}

export class OrchestratorLoop extends ReconcileLoop {
  readonly name = 'orchestrator';
  protected readonly tables: readonly TableName[] = ['tasks', 'services', 'nodes'];
  /** per slot key, when it was restarted (ms), for MaxAttempts within Window */
  private readonly restarts = new Map<string, number[]>();
  /** tasks created with desired "ready": when to move them to "running" */
  private readonly promote = new Map<string, number>();

  protected override onStop(): void {
    this.restarts.clear();
    this.promote.clear();
  }

  private slotKey(t: Task, byNode: boolean): string {
    return byNode ? `${t.ServiceID}/node/${t.NodeID}` : `${t.ServiceID}/slot/${t.Slot}`;
  }

  protected async reconcile(): Promise<void> {
    const now = this.ctx.now();
    const writes: Write[] = [];
    const { services, nodes, tasksBy, orphans } = this.ctx.store.view((tx) => {
      const services = tx.find('services');
      const ids = new Set(services.map((s) => s.ID));
      const tasksBy = new Map<string, Task[]>();
      const orphans: Task[] = [];
      for (const t of tx.find('tasks')) {
        if (!ids.has(t.ServiceID)) {
          orphans.push(t);
          continue;
        }
        let l = tasksBy.get(t.ServiceID);
        if (!l) tasksBy.set(t.ServiceID, (l = []));
        l.push(t);
      }
      return { services, nodes: new Map(tx.find('nodes').map((n) => [n.ID, n])), tasksBy, orphans };
    });

    for (const t of orphans) if (t.DesiredState !== 'remove') writes.push({ kind: 'desired', taskId: t.ID, desired: 'remove' });

    for (const s of services) {
      let tasks = tasksBy.get(s.ID) ?? [];
      const kind = modeKind(s);
      const isJob = kind === 'replicated-job' || kind === 'global-job';
      if (isJob) {
        // only the current run of the job counts; tasks of earlier runs still meant to run are stopped
        const iteration = currentJobIteration(s);
        for (const t of tasks) {
          if (jobIterationOf(t) !== iteration && !isTerminal(t.Status.State) && t.DesiredState !== 'remove') writes.push({ kind: 'desired', taskId: t.ID, desired: 'remove' });
        }
        tasks = tasks.filter((t) => jobIterationOf(t) === iteration);
      }
      const policy = s.Spec.TaskTemplate.RestartPolicy ?? (isJob ? { Condition: 'on-failure' as const } : undefined);
      // occupied: slot/node keys that hold a task meant to run (replaced ones included)
      const occupied: Task[] = [];
      for (const t of tasks) {
        if (!runnableDesired(t)) continue;
        if (t.DesiredState === 'ready' && !this.promote.has(t.ID)) this.promote.set(t.ID, now); // delay lost with a leader change
        const node = t.NodeID ? nodes.get(t.NodeID) : undefined;
        // tasks on nodes that are gone/down/drained, or whose node no longer satisfies the constraints
        if (t.NodeID && !isTerminal(t.Status.State)) {
          const lost = nodeInvalid(node);
          let unfit = false;
          if (!lost && node && stateOrder(t.Status.State) >= stateOrder('assigned')) {
            try {
              unfit = !nodeMatches(toSchedNode(node), parseConstraints(t.Spec.Placement?.Constraints ?? []));
            } catch {
              unfit = false;
            }
          }
          if (lost || unfit) {
            writes.push({ kind: 'desired', taskId: t.ID, desired: 'shutdown', reason: lost ? 'node unavailable' : 'constraints no longer satisfied' });
            if (kind === 'replicated' || kind === 'replicated-job') {
              writes.push({ kind: 'create', service: s, slot: t.Slot, desired: 'running', delayMs: 0 });
              occupied.push({ ...t, Status: { ...t.Status, State: 'new' } });
            }
            continue;
          }
        }
        if (isTerminal(t.Status.State)) {
          if (isJob && t.Status.State === 'complete') continue; // a completion, counted below
          const key = this.slotKey(t, kind === 'global' || kind === 'global-job');
          const hist = this.restarts.get(key) ?? [];
          const d = decideRestart(policy, endOf(t.Status.State), hist, now);
          if (d.restart) {
            hist.push(now);
            this.restarts.set(key, hist);
            writes.push({ kind: 'desired', taskId: t.ID, desired: 'shutdown' });
            if (kind === 'global' || kind === 'global-job') {
              const n = nodes.get(t.NodeID);
              if (n && nodeEligible(n, s)) writes.push({ kind: 'create', service: s, slot: 0, nodeId: t.NodeID, desired: d.delayMs > 0 ? 'ready' : 'running', delayMs: d.delayMs });
            } else {
              writes.push({ kind: 'create', service: s, slot: t.Slot, desired: d.delayMs > 0 ? 'ready' : 'running', delayMs: d.delayMs });
            }
            occupied.push({ ...t, Status: { ...t.Status, State: 'new' } });
          } else {
            occupied.push(t); // the slot stays with its ended task (no restart allowed)
          }
          continue;
        }
        occupied.push(t);
      }

      if (kind === 'replicated') {
        const slotTasks: SlotTask[] = occupied.map((t) => ({
          id: t.ID,
          slot: t.Slot,
          ...(t.NodeID ? { nodeId: t.NodeID } : {}),
          // an ended task left in its slot still holds the slot
          state: isTerminal(t.Status.State) ? 'assigned' : t.Status.State,
          desiredState: 'running',
        }));
        const plan = reconcileReplicated(s.Spec.Mode.Replicated?.Replicas ?? 1, slotTasks);
        for (const slot of plan.create) writes.push({ kind: 'create', service: s, slot, desired: 'running', delayMs: 0 });
        for (const id of plan.remove) writes.push({ kind: 'desired', taskId: id, desired: 'remove' });
      } else if (kind === 'global' || kind === 'global-job') {
        const have = new Set(occupied.map((t) => t.NodeID));
        if (kind === 'global-job') for (const t of tasks) if (t.Status.State === 'complete') have.add(t.NodeID);
        for (const n of [...nodes.values()].sort((a, b) => (a.ID < b.ID ? -1 : 1))) {
          if (!have.has(n.ID) && nodeEligible(n, s)) writes.push({ kind: 'create', service: s, slot: 0, nodeId: n.ID, desired: 'running', delayMs: 0 });
        }
        // running tasks on nodes that stopped being eligible (drained, constraints) are shut down
        for (const t of occupied) {
          const n = nodes.get(t.NodeID);
          if (t.NodeID && n && !nodeEligible(n, s) && n.Status.State !== 'down' && !isTerminal(t.Status.State) && kind === 'global') {
            writes.push({ kind: 'desired', taskId: t.ID, desired: 'shutdown' });
          }
        }
      } else {
        const job = s.Spec.Mode.ReplicatedJob!;
        const max = job.MaxConcurrent ?? 1;
        const total = job.TotalCompletions ?? max;
        const completed = tasks.filter((t) => t.Status.State === 'complete').length;
        const active = occupied.length; // as SwarmKit: a failed task not restarted still holds its place
        const planned = writes.filter((w): w is Extract<Write, { kind: 'create' }> => w.kind === 'create' && w.service.ID === s.ID);
        const want = Math.max(0, Math.min(max - active, total - completed - active) - planned.length);
        // one slot per completion, 0…TotalCompletions-1 (SwarmKit's; docker's job progress counts slots)
        const used = new Set([...tasks.filter((t) => t.Status.State === 'complete').map((t) => t.Slot), ...occupied.map((t) => t.Slot), ...planned.map((w) => w.slot)]);
        for (let i = 0, slot = 0; i < want; i++) {
          while (used.has(slot)) slot++;
          used.add(slot);
          writes.push({ kind: 'create', service: s, slot, desired: 'running', delayMs: 0 });
        }
      }
    }

    // tasks waiting out a restart delay
    const due: string[] = [];
    for (const [id, at] of this.promote) {
      if (at <= now) due.push(id);
      else this.kickAfter(at - now);
    }

    if (writes.length === 0 && due.length === 0) return;
    const nowIso = this.nowIso();
    await this.ctx.store.batch(async (b) => {
      for (const w of writes) {
        if (w.kind === 'desired') {
          await b.update((tx) => {
            const t = tx.get('tasks', w.taskId);
            if (!t || stateOrder(t.DesiredState) >= stateOrder(w.desired)) return;
            tx.update('tasks', { ...t, DesiredState: w.desired });
          });
        } else {
          const id = generateId(this.randomBytes);
          await b.update((tx) => {
            const s = tx.get('services', w.service.ID);
            if (!s) return;
            tx.create('tasks', newTask(s, id, nowIso, { slot: w.slot, ...(w.nodeId ? { nodeId: w.nodeId } : {}), desiredState: w.desired }));
          });
          if (w.desired === 'ready') {
            this.promote.set(id, now + w.delayMs);
            this.kickAfter(w.delayMs);
          }
        }
      }
      for (const id of due) {
        this.promote.delete(id);
        await b.update((tx) => {
          const t = tx.get('tasks', id);
          if (!t || t.DesiredState !== 'ready') return;
          tx.update('tasks', { ...t, DesiredState: 'running' });
        });
      }
    });
  }
}
