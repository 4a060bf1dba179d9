/**
 * What a node must hold: every task assigned to it (from "assigned" on, until the task is deleted), plus
 * the secrets and configs its unfinished tasks reference, plus a view of each overlay network they are on
 * (network-view.ts) and of the ingress network (the routing mesh). First a complete set, then incremental diffs.
 */
import type { Config, ReadTx, Secret, Task } from '../store/index.js';
import { stateOrder, isTerminal } from '../orchestrator/task-state.js';
import { type NetworkView, type NetworkViewPatch, NetworkViewCache, memoDiffNetworkView, taskNetworkIds } from './network-view.js';

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
  /** a view the node holds, changed: only the difference travels */
  | { action: 'patch'; kind: 'network'; id: string; patch: NetworkViewPatch }
  | { action: 'remove'; kind: AssignmentKind; id: string };

export interface AssignmentMessage {
  type: 'complete' | 'incremental';
  changes: AssignmentChange[];
}

/**
 * Whether the agent holds this task: every task of the node from "assigned" on, until the task is deleted
 * from the store (SwarmKit's rule: the container of an ended task stays, with its logs, until the task
 * reaper deletes the task under the history limit).
 */
export function taskNeededByAgent(t: Task): boolean {
  // tasks before "assigned" are not the node's yet (the scheduler has not finished with them)
  return stateOrder(t.Status.State) >= stateOrder('assigned');
}

export function computeAssignments(tx: ReadTx, nodeId: string, views: NetworkViewCache = new NetworkViewCache(tx)): AssignmentSet {
  const set: AssignmentSet = { tasks: new Map(), secrets: new Map(), configs: new Map(), networks: new Map() };
  for (const t of tx.find('tasks', { index: 'node', key: nodeId })) {
    if (t.NodeID !== nodeId || !taskNeededByAgent(t)) continue;
    set.tasks.set(t.ID, t);
    // an ended task releases what it referenced: its secrets, configs and network views leave the node
    if (isTerminal(t.Status.State)) continue;
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
  // every node holds the ingress network: a published port answers on nodes with no task too
  const ingress = views.ingress();
  if (ingress) set.networks.set(ingress.network.id, ingress);
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
    if (!p) changes.push({ action: 'update', kind: 'network', network: n });
    else if (p !== n) {
      const patch = memoDiffNetworkView(p, n);
      if (patch) changes.push({ action: 'patch', kind: 'network', id, patch });
    }
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
