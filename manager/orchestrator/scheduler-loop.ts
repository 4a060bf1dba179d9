/**
 * The scheduler loop: tasks in state "pending" get a node (→ "assigned"), in batches through the pure
 * scheduler core; a task that fits nowhere stays pending with Docker's "no suitable node (…)" in
 * Status.Err and is tried again whenever nodes or tasks change.
 */
import { schedule, type PendingTask, type PlacedTask, type SchedNode } from '../scheduler/index.js';
import type { Node, Task, TableName } from '../store/index.js';
import { ReconcileLoop } from './loop-base.js';
import { stateOrder } from './task-state.js';

export function toSchedNode(n: Node): SchedNode {
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? '',
    role: n.Spec.Role,
    state: n.Status.State,
    availability: n.Spec.Availability,
    labels: n.Spec.Labels ?? {},
    engineLabels: n.Description?.Engine?.Labels ?? {},
    addr: n.Status.Addr ?? '',
    platform: { os: n.Description?.Platform?.OS ?? '', architecture: n.Description?.Platform?.Architecture ?? '' },
    resources: { nanoCPUs: n.Description?.Resources?.NanoCPUs ?? 0, memoryBytes: n.Description?.Resources?.MemoryBytes ?? 0 },
  };
}

function hostPorts(t: Task): PlacedTask['hostPorts'] {
  return (t.Endpoint?.Ports ?? t.Endpoint?.Spec.Ports ?? [])
    .filter((p) => p.PublishMode === 'host' && p.PublishedPort)
    .map((p) => ({ protocol: p.Protocol ?? 'tcp', publishedPort: p.PublishedPort! }));
}

function reservations(t: Task): PlacedTask['reservations'] {
  const r = t.Spec.Resources?.Reservations;
  return { nanoCPUs: r?.NanoCPUs ?? 0, memoryBytes: r?.MemoryBytes ?? 0 };
}

export function toPendingTask(t: Task): PendingTask {
  const pl = t.Spec.Placement;
  return {
    id: t.ID,
    serviceId: t.ServiceID,
    groupKey: `${t.ServiceID}/${t.SpecVersion?.Index ?? 0}`,
    ...(t.NodeID ? { nodeId: t.NodeID } : {}),
    constraints: pl?.Constraints ?? [],
    preferences: (pl?.Preferences ?? []).map((p) => ({ spreadDescriptor: p.Spread.SpreadDescriptor })),
    maxReplicasPerNode: pl?.MaxReplicas ?? 0,
    reservations: reservations(t),
    platforms: (pl?.Platforms ?? []).map((p) => ({ ...(p.OS ? { os: p.OS } : {}), ...(p.Architecture ? { architecture: p.Architecture } : {}) })),
    hostPorts: hostPorts(t),
  };
}

export class SchedulerLoop extends ReconcileLoop {
  readonly name = 'scheduler';
  protected readonly tables: readonly TableName[] = ['tasks', 'nodes'];

  protected async reconcile(): Promise<void> {
    const { nodes, placed, pending } = this.ctx.store.view((tx) => {
      const placed: PlacedTask[] = [];
      const pending: PendingTask[] = [];
      for (const t of tx.find('tasks')) {
        const runnable = stateOrder(t.DesiredState) <= stateOrder('running');
        if (t.Status.State === 'pending' && runnable) pending.push(toPendingTask(t));
        else if (t.NodeID && runnable && stateOrder(t.Status.State) >= stateOrder('assigned') && stateOrder(t.Status.State) <= stateOrder('running')) {
          placed.push({ id: t.ID, serviceId: t.ServiceID, nodeId: t.NodeID, reservations: reservations(t), hostPorts: hostPorts(t) });
        }
      }
      return { nodes: tx.find('nodes').map(toSchedNode), placed, pending };
    });
    if (pending.length === 0) return;
    const result = schedule({ nodes, placed, pending });
    const now = this.nowIso();
    await this.ctx.store.batch(async (b) => {
      for (const d of result.assigned) {
        await b.update((tx) => {
          const t = tx.get('tasks', d.taskId);
          if (!t || t.Status.State !== 'pending') return;
          tx.update('tasks', { ...t, NodeID: d.nodeId, Status: { Timestamp: now, State: 'assigned', Message: 'scheduler assigned task to node' } });
        });
      }
      for (const u of result.unschedulable) {
        await b.update((tx) => {
          const t = tx.get('tasks', u.taskId);
          if (!t || t.Status.State !== 'pending' || t.Status.Err === u.reason) return;
          tx.update('tasks', { ...t, Status: { ...t.Status, Timestamp: now, Err: u.reason } });
        });
      }
    });
  }
}
