/**
 * The weighted manager list pushed to agents: every reachable manager with its address, the leader
 * weighted higher (agents pick at random by weight, so load spreads but the leader is preferred).
 */
import type { Node } from '../store/index.js';

export interface WeightedManager {
  addr: string;
  weight: number;
}

export const MANAGER_WEIGHT = 10;
export const LEADER_WEIGHT = 20;

export function managerList(nodes: readonly Node[], leaderAddr?: string): WeightedManager[] {
  const out = new Map<string, number>();
  for (const n of nodes) {
    const ms = n.ManagerStatus;
    if (!ms?.Addr || ms.Reachability === 'unreachable') continue;
    out.set(ms.Addr, ms.Leader || ms.Addr === leaderAddr ? LEADER_WEIGHT : MANAGER_WEIGHT);
  }
  if (leaderAddr && !out.has(leaderAddr)) out.set(leaderAddr, LEADER_WEIGHT);
  return [...out].map(([addr, weight]) => ({ addr, weight })).sort((a, b) => (a.addr < b.addr ? -1 : 1));
}

/** A random choice by weight (random in [0,1)). */
export function pickWeighted<T extends { weight: number }>(items: readonly T[], random: number): T | undefined {
  const total = items.reduce((s, i) => s + Math.max(0, i.weight), 0);
  if (total <= 0) return items[Math.floor(random * items.length)];
  let x = random * total;
  for (const i of items) {
    x -= Math.max(0, i.weight);
    if (x < 0) return i;
  }
  return items[items.length - 1];
}

/**
 * An agent's view after a session with `addr` failed (refused, dropped, no leader): that manager's weight
 * is cut to a quarter (at least 1), so the next picks prefer the others — after a leader dies, the old
 * leader's double weight would otherwise send half of every agent's retries to it (SwarmKit's agent
 * observes a failed manager with a negative weight for the same reason). The next session's manager
 * list replaces these weights.
 */
export function observeFailure(items: readonly WeightedManager[], addr: string): WeightedManager[] {
  return items.map((m) => (m.addr === addr ? { addr: m.addr, weight: Math.max(1, Math.floor(m.weight / 4)) } : m));
}
