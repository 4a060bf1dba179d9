import type { PendingTask, SchedNode } from '../../../manager/scheduler/index.js';

export function node(id: string, over: Partial<SchedNode> = {}): SchedNode {
  return {
    id, hostname: `host-${id}`, role: 'worker', state: 'ready', availability: 'active', labels: {}, engineLabels: {},
    addr: '10.0.0.1', platform: { os: 'linux', architecture: 'x86_64' }, resources: { nanoCPUs: 4e9, memoryBytes: 8 << 30 },
    ...over,
  };
}

export function tasks(n: number, over: Partial<PendingTask> = {}, service = 'svc'): PendingTask[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${service}-t${i}`, serviceId: service, groupKey: `${service}@1`, constraints: [], preferences: [], maxReplicasPerNode: 0,
    reservations: { nanoCPUs: 0, memoryBytes: 0 }, platforms: [], hostPorts: [], ...over,
  }));
}

export function perNode(assigned: { nodeId: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of assigned) out[a.nodeId] = (out[a.nodeId] ?? 0) + 1;
  return out;
}
