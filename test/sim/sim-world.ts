// What the parts of the simulator share: the clock, the seeded randomness, the network and the nodes.

import type { NodeId, RandomInt } from '../../manager/raft/core/types.js';
import type { EventQueue } from './event-queue.js';
import type { SimNetwork } from './sim-network.js';
import type { Breakage, SimNode } from './sim-node.js';

export interface SimStats {
  crashes: number;
  restarts: number;
  partitions: number;
  transfers: number;
  confChangesApplied: number;
  snapshotsSent: number;
  snapshotsApplied: number;
  compactions: number;
  /** Readies handed out, sent and applied, but lost in a crash before their fsync (pipelined drivers). */
  readiesLost: number;
  pauses: number;
  writesOk: number;
  writesUnknown: number;
  readsOk: number;
}

export interface World {
  q: EventQueue;
  rnd: RandomInt;
  net: SimNetwork;
  nodes: Map<NodeId, SimNode>;
  /** Nodes whose removal from the cluster has been applied: stopped, and the network refuses them. */
  removed: Set<NodeId>;
  /** A deliberate bug switched on for this run ('none' normally). */
  breakage: Breakage;
  /** False once the chaos phase is over: no more faults and no new client operations. */
  chaos: boolean;
  stats: SimStats;
  touch(n: SimNode): void;
  trace: ((line: string) => void) | undefined;
}

export function emptyStats(): SimStats {
  return {
    crashes: 0, restarts: 0, partitions: 0, transfers: 0, confChangesApplied: 0, snapshotsSent: 0,
    snapshotsApplied: 0, compactions: 0, readiesLost: 0, pauses: 0, writesOk: 0, writesUnknown: 0, readsOk: 0,
  };
}

/** Live (up and not paused) nodes that are still cluster members, in id order. */
export function liveNodes(w: World): SimNode[] {
  return [...w.nodes.values()].filter((n) => n.up && !w.removed.has(n.id) && !n.isPaused(w.q.now)).sort((a, b) => a.id - b.id);
}

/** The live node that believes it leads the highest term, if any. */
export function currentLeader(w: World): SimNode | undefined {
  let best: SimNode | undefined;
  let bestTerm = -1;
  for (const n of liveNodes(w)) {
    if (n.role !== 'leader') continue;
    const t = n.disk.hardState().term;
    if (t > bestTerm) { best = n; bestTerm = t; }
  }
  return best;
}

export function pick<T>(rnd: RandomInt, xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[rnd(xs.length)];
}
