/**
 * What a node must hold: the tasks assigned to it whose desired state is at most "running" or that the
 * agent still has to shut down (desired state beyond running but not yet observed terminal), plus the
 * secrets and configs those tasks reference, plus a view of each overlay network those tasks are on
 * (network-view.ts). First a complete set, then incremental diffs.
 */
import type { Config, ReadTx, Secret, Task } from '../store/index.js';
import { stateOrder, isTerminal } from '../orchestrator/task-state.js';
import { type NetworkView, NetworkViewCache, taskNetworkIds } from './network-view.js';

export interface AssignmentSet {
  tasks: Map<string, Task>;
  secrets: Map<string, Secret>;
  configs: Map<string, Config>;
  networks: Map<string, NetworkView>;
}

export type AssignmentKind = 'task' | 'secret' | 'config' | 'network';

export type AssignmentChange =
  | { action: 'update'; kind: 'task'; task: Task }
  | { action: 'update'; kind: 'secret'; secret: Secret }
  | { action: 'update'; kind: 'config'; config: Config }
  | { action: 'update'; kind: 'network'; network: NetworkView }
  | { action: 'remove'; kind: AssignmentKind; id: string };

export interface AssignmentMessage {
  type: 'complete' | 'incremental';
  changes: AssignmentChange[];
}

/** Whether the agent needs to know about this task. */
export function taskNeededByAgent(t: Task): boolean {
  if (stateOrder(t.DesiredState) <= stateOrder('running')) return true;
  // desired shutdown/remove: the agent keeps it until it has reported a terminal state
  return !isTerminal(t.Status.State);
}

export function computeAssignments(tx: ReadTx, nodeId: string, views: NetworkViewCache = new NetworkViewCache(tx)): AssignmentSet {
  const set: AssignmentSet = { tasks: new Map(), secrets: new Map(), configs: new Map(), networks: new Map() };
  for (const t of tx.find('tasks', { index: 'node', key: nodeId })) {
    if (t.NodeID !== nodeId || !taskNeededByAgent(t)) continue;
    // tasks before "assigned" are not the node's yet (the scheduler has not finished with them)
    if (stateOrder(t.Status.State) < stateOrder('assigned')) continue;
    set.tasks.set(t.ID, t);
    for (const r of t.Spec.ContainerSpec.Secrets ?? []) {
      const s = tx.get('secrets', r.SecretID);
      if (s) set.secrets.set(s.ID, s);
    }
    for (const r of t.Spec.ContainerSpec.Configs ?? []) {
      const c = tx.get('configs', r.ConfigID);
      if (c) set.configs.set(c.ID, c);
    }
    for (const id of taskNetworkIds(t)) {
      if (set.networks.has(id)) continue;
      const v = views.get(id);
      if (v) set.networks.set(id, v);
    }
  }
  return set;
}

export function completeMessage(set: AssignmentSet): AssignmentMessage {
  const changes: AssignmentChange[] = [];
  for (const s of set.secrets.values()) changes.push({ action: 'update', kind: 'secret', secret: s });
  for (const c of set.configs.values()) changes.push({ action: 'update', kind: 'config', config: c });
  for (const n of set.networks.values()) changes.push({ action: 'update', kind: 'network', network: n });
  for (const t of set.tasks.values()) changes.push({ action: 'update', kind: 'task', task: t });
  return { type: 'complete', changes };
}

/** The changes from `prev` to `next` (objects compared by version); null when nothing changed. */
export function diffAssignments(prev: AssignmentSet, next: AssignmentSet): AssignmentMessage | null {
  const changes: AssignmentChange[] = [];
  // secrets and configs first so a task never arrives before what it references
  for (const [id, s] of next.secrets) {
    if (prev.secrets.get(id)?.Meta.Version.Index !== s.Meta.Version.Index) changes.push({ action: 'update', kind: 'secret', secret: s });
  }
  for (const [id, c] of next.configs) {
    if (prev.configs.get(id)?.Meta.Version.Index !== c.Meta.Version.Index) changes.push({ action: 'update', kind: 'config', config: c });
  }
  for (const [id, n] of next.networks) {
    const p = prev.networks.get(id);
    if (p !== n && JSON.stringify(p) !== JSON.stringify(n)) changes.push({ action: 'update', kind: 'network', network: n });
  }
  for (const [id, t] of next.tasks) {
    const p = prev.tasks.get(id);
    // the agent's own status reports change the version too; only what the agent acts on is resent
    if (!p || p.DesiredState !== t.DesiredState || p.SpecVersion?.Index !== t.SpecVersion?.Index || p.Spec !== t.Spec && JSON.stringify(p.Spec) !== JSON.stringify(t.Spec)) {
      changes.push({ action: 'update', kind: 'task', task: t });
    }
  }
  for (const id of prev.tasks.keys()) if (!next.tasks.has(id)) changes.push({ action: 'remove', kind: 'task', id });
  for (const id of prev.secrets.keys()) if (!next.secrets.has(id)) changes.push({ action: 'remove', kind: 'secret', id });
  for (const id of prev.configs.keys()) if (!next.configs.has(id)) changes.push({ action: 'remove', kind: 'config', id });
  for (const id of prev.networks.keys()) if (!next.networks.has(id)) changes.push({ action: 'remove', kind: 'network', id });
  return changes.length ? { type: 'incremental', changes } : null;
}
