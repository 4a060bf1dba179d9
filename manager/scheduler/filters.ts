/**
 * The filter pipeline, in SwarmKit's order: ready → resources → constraints → platform → host ports →
 * max replicas. A node is rejected by the first filter it fails; the counts per filter make Docker's
 * "no suitable node (…)" explanation.
 */
import { nodeMatches, normalizeArch, type Constraint } from './constraint.js';
import { NodeInfo } from './node-info.js';
import type { PendingTask } from './types.js';

export type FilterName = 'ready' | 'resources' | 'constraints' | 'platform' | 'hostPorts' | 'maxReplicas';

interface Filter {
  name: FilterName;
  /** false when the filter does not apply to this task at all */
  enabled(t: PendingTask): boolean;
  check(n: NodeInfo, t: PendingTask, constraints: readonly Constraint[]): boolean;
  explain(nodes: number): string;
}

const plural = (n: number): string => (n === 1 ? '1 node' : `${n} nodes`);

const FILTERS: readonly Filter[] = [
  {
    name: 'ready',
    enabled: () => true,
    check: (n) => n.node.state === 'ready' && n.node.availability === 'active',
    explain: (k) => `${plural(k)} not available for new tasks`,
  },
  {
    name: 'resources',
    enabled: (t) => t.reservations.nanoCPUs > 0 || t.reservations.memoryBytes > 0,
    check: (n, t) => n.available.nanoCPUs >= t.reservations.nanoCPUs && n.available.memoryBytes >= t.reservations.memoryBytes,
    explain: (k) => `insufficient resources on ${plural(k)}`,
  },
  {
    name: 'constraints',
    enabled: (t) => t.constraints.length > 0,
    check: (n, _t, c) => nodeMatches(n.node, c),
    explain: (k) => `scheduling constraints not satisfied on ${plural(k)}`,
  },
  {
    name: 'platform',
    enabled: (t) => t.platforms.length > 0,
    check: (n, t) =>
      t.platforms.some(
        (p) =>
          (!p.os || p.os.toLowerCase() === n.node.platform.os.toLowerCase()) &&
          (!p.architecture || normalizeArch(p.architecture) === normalizeArch(n.node.platform.architecture)),
      ),
    explain: (k) => `unsupported platform on ${plural(k)}`,
  },
  {
    name: 'hostPorts',
    enabled: (t) => t.hostPorts.length > 0,
    check: (n, t) => t.hostPorts.every((p) => !n.ports.has(NodeInfo.portKey(p))),
    explain: (k) => `host-mode port already in use on ${plural(k)}`,
  },
  {
    name: 'maxReplicas',
    enabled: (t) => t.maxReplicasPerNode > 0,
    check: (n, t) => n.serviceCount(t.serviceId) < t.maxReplicasPerNode,
    explain: () => 'max replicas per node limit exceed',
  },
];

export class Pipeline {
  private readonly active: readonly Filter[];
  private readonly failures = new Map<FilterName, number>();

  constructor(
    private readonly task: PendingTask,
    private readonly constraints: readonly Constraint[],
  ) {
    this.active = FILTERS.filter((f) => f.enabled(task));
  }

  /** Whether the node passes; a failure is counted against the first filter that rejects it. */
  process(n: NodeInfo): boolean {
    for (const f of this.active) {
      if (!f.check(n, this.task, this.constraints)) {
        this.failures.set(f.name, (this.failures.get(f.name) ?? 0) + 1);
        return false;
      }
    }
    return true;
  }

  /** Whether the node passes, without counting (re-checks after a placement). */
  passes(n: NodeInfo): boolean {
    return this.active.every((f) => f.check(n, this.task, this.constraints));
  }

  explain(): string {
    const parts = FILTERS.filter((f) => (this.failures.get(f.name) ?? 0) > 0).map((f) => f.explain(this.failures.get(f.name)!));
    return `no suitable node (${parts.length > 0 ? parts.join('; ') : 'no nodes in the cluster'})`;
  }
}
