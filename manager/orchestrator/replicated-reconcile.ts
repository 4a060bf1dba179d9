/**
 * The replicated orchestrator's decision, pure: a service wants N replicas, each in a numbered slot.
 * Given its tasks, which slots need a new task (scale up, or a slot whose task ended and is not being
 * replaced by the restart supervisor), and which tasks to remove (scale down: the highest slots go
 * first — among them those on the nodes crowded with this service, and those not running yet).
 */
import { isRunnable, stateOrder, type TaskState } from './task-state.js';

export interface SlotTask {
  id: string;
  slot: number;
  nodeId?: string;
  state: TaskState;
  desiredState: TaskState;
}

export interface ReplicatedPlan {
  /** slot numbers to create a task in, ascending */
  create: number[];
  /** task IDs to move to desired state "remove" */
  remove: string[];
}

export function reconcileReplicated(replicas: number, tasks: readonly SlotTask[]): ReplicatedPlan {
  const slots = new Map<number, SlotTask[]>();
  for (const t of tasks) {
    if (!isRunnable(t)) continue;
    let s = slots.get(t.slot);
    if (!s) slots.set(t.slot, (s = []));
    s.push(t);
  }
  const plan: ReplicatedPlan = { create: [], remove: [] };
  if (slots.size < replicas) {
    for (let slot = 1; plan.create.length < replicas - slots.size; slot++) if (!slots.has(slot)) plan.create.push(slot);
    return plan;
  }
  if (slots.size === replicas) return plan;

  // Scale down: SwarmKit removes from the nodes running the most tasks of the service, and prefers slots
  // whose tasks are not running yet; among equals, the highest slot numbers go first.
  const perNode = new Map<string, number>();
  for (const s of slots.values()) for (const t of s) if (t.nodeId) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
  const ranked = [...slots.entries()].map(([slot, ts]) => ({
    slot,
    ts,
    running: ts.some((t) => stateOrder(t.state) >= stateOrder('running')),
    crowd: Math.max(0, ...ts.map((t) => (t.nodeId ? perNode.get(t.nodeId)! : 0))),
  }));
  const toRemove = slots.size - replicas;
  const chosen: typeof ranked = [];
  for (let k = 0; k < toRemove; k++) {
    ranked.sort((a, b) => Number(a.running) - Number(b.running) || b.crowd - a.crowd || b.slot - a.slot);
    const pick = ranked.shift()!;
    chosen.push(pick);
    // the pick's node now holds one fewer task of the service
    for (const t of pick.ts) if (t.nodeId) perNode.set(t.nodeId, perNode.get(t.nodeId)! - 1);
    for (const r of ranked) r.crowd = Math.max(0, ...r.ts.map((t) => (t.nodeId ? perNode.get(t.nodeId)! : 0)));
  }
  plan.remove = chosen.flatMap((c) => c.ts.map((t) => t.id));
  return plan;
}
