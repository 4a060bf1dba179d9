/**
 * The scheduler's pure core: given the nodes, the tasks already placed and the tasks waiting, decide where
 * each waiting task goes, or why it cannot go anywhere (Docker's "no suitable node (…)" text). Identical
 * tasks (one groupKey) are placed as a batch: the filters run once per group, then each placement only
 * re-checks the node it used. Spread: fewest tasks of this service, then fewest tasks in all, then node
 * ID; with placement preferences, the tasks are first spread evenly over the label values, level by level.
 */
import { ConstraintError, parseConstraints, spreadValue, type Constraint } from './constraint.js';
import { Pipeline } from './filters.js';
import { buildNodeInfos, type NodeInfo } from './node-info.js';
import { NodeHeap } from './node-heap.js';
import type { Decision, PendingTask, PlacedTask, ScheduleResult, SchedNode, SpreadPreference, Unschedulable } from './types.js';

export interface ScheduleInput {
  nodes: readonly SchedNode[];
  /** tasks that hold a node now (assigned and not terminal) */
  placed: readonly PlacedTask[];
  pending: readonly PendingTask[];
}

function groupTasks(pending: readonly PendingTask[]): PendingTask[][] {
  const groups = new Map<string, PendingTask[]>();
  for (const t of pending) {
    const key = t.nodeId === undefined ? t.groupKey : `${t.groupKey}\u0000${t.nodeId}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(t);
  }
  return [...groups.values()];
}

/** Picks a node by walking the preference tree: at each level the label value with the fewest tasks. */
function pickWithPreferences(candidates: readonly NodeInfo[], prefs: readonly SpreadPreference[], serviceId: string): NodeInfo {
  let pool = candidates;
  for (const pref of prefs) {
    const branches = new Map<string, { count: number; nodes: NodeInfo[] }>();
    for (const n of pool) {
      const v = spreadValue(n.node, pref.spreadDescriptor);
      let b = branches.get(v);
      if (!b) branches.set(v, (b = { count: 0, nodes: [] }));
      b.count += n.serviceCount(serviceId);
      b.nodes.push(n);
    }
    let best: { key: string; count: number; nodes: NodeInfo[] } | undefined;
    for (const [key, b] of branches) {
      if (!best || b.count < best.count || (b.count === best.count && key < best.key)) best = { key, ...b };
    }
    pool = best!.nodes;
  }
  let pick = pool[0]!;
  for (const n of pool) {
    const a = n.serviceCount(serviceId);
    const b = pick.serviceCount(serviceId);
    if (a < b || (a === b && (n.total < pick.total || (n.total === pick.total && n.node.id < pick.node.id)))) pick = n;
  }
  return pick;
}

function explainAll(infos: Map<string, NodeInfo>, task: PendingTask, constraints: readonly Constraint[]): string {
  const p = new Pipeline(task, constraints);
  for (const n of infos.values()) p.process(n);
  return p.explain();
}

export function schedule(input: ScheduleInput): ScheduleResult {
  const infos = buildNodeInfos(input.nodes, input.placed);
  const assigned: Decision[] = [];
  const unschedulable: Unschedulable[] = [];
  const place = (t: PendingTask, n: NodeInfo): void => {
    n.add(t);
    assigned.push({ taskId: t.id, nodeId: n.node.id });
  };

  for (const group of groupTasks(input.pending)) {
    const first = group[0]!;
    let constraints: Constraint[];
    try {
      constraints = parseConstraints(first.constraints);
    } catch (e) {
      const msg = e instanceof ConstraintError ? e.message : String(e);
      for (const t of group) unschedulable.push({ taskId: t.id, reason: `no suitable node (${msg})` });
      continue;
    }

    if (first.nodeId !== undefined) {
      const n = infos.get(first.nodeId);
      for (const t of group) {
        if (!n) {
          unschedulable.push({ taskId: t.id, reason: `no suitable node (node ${first.nodeId} not found)` });
          continue;
        }
        const p = new Pipeline(t, constraints);
        if (p.process(n)) place(t, n);
        else unschedulable.push({ taskId: t.id, reason: p.explain() });
      }
      continue;
    }

    const pipeline = new Pipeline(first, constraints);
    const candidates: NodeInfo[] = [];
    for (const n of infos.values()) if (pipeline.process(n)) candidates.push(n);

    let i = 0;
    if (first.preferences.length === 0) {
      const heap = new NodeHeap(first.serviceId);
      for (const n of candidates) heap.push(n);
      for (; i < group.length && heap.size > 0; i++) {
        const n = heap.pop()!;
        place(group[i]!, n);
        if (pipeline.passes(n)) heap.push(n);
      }
    } else {
      let pool = candidates;
      for (; i < group.length && pool.length > 0; i++) {
        const n = pickWithPreferences(pool, first.preferences, first.serviceId);
        place(group[i]!, n);
        if (!pipeline.passes(n)) pool = pool.filter((x) => x !== n);
      }
    }
    if (i < group.length) {
      const reason = explainAll(infos, first, constraints);
      for (; i < group.length; i++) unschedulable.push({ taskId: group[i]!.id, reason });
    }
  }
  return { assigned, unschedulable };
}
