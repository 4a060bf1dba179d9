/** A node as the scheduler tracks it during one pass: what is left of its resources, what runs there. */
import type { HostPort, PlacedTask, Resources, SchedNode } from './types.js';

export class NodeInfo {
  readonly node: SchedNode;
  readonly available: Resources;
  readonly perService = new Map<string, number>();
  total = 0;
  readonly ports = new Set<string>();

  constructor(node: SchedNode) {
    this.node = node;
    this.available = { ...node.resources };
  }

  static portKey(p: HostPort): string {
    return `${p.protocol}/${p.publishedPort}`;
  }

  serviceCount(serviceId: string): number {
    return this.perService.get(serviceId) ?? 0;
  }

  add(t: Pick<PlacedTask, 'serviceId' | 'reservations' | 'hostPorts'>): void {
    this.perService.set(t.serviceId, this.serviceCount(t.serviceId) + 1);
    this.total++;
    this.available.nanoCPUs -= t.reservations.nanoCPUs;
    this.available.memoryBytes -= t.reservations.memoryBytes;
    for (const p of t.hostPorts) this.ports.add(NodeInfo.portKey(p));
  }
}

export function buildNodeInfos(nodes: readonly SchedNode[], placed: readonly PlacedTask[]): Map<string, NodeInfo> {
  const infos = new Map<string, NodeInfo>();
  for (const n of nodes) infos.set(n.id, new NodeInfo(n));
  for (const t of placed) infos.get(t.nodeId)?.add(t);
  return infos;
}
