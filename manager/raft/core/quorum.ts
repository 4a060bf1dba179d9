// Quorum arithmetic for majority and joint configurations (etcd-io/raft quorum/): the committed
// index a quorum has acknowledged and the outcome of a vote.

import type { NodeId } from './types.js';

export type VoteResult = 'pending' | 'lost' | 'won';

/** Index acknowledged by a node, or undefined when unknown. */
export type AckedIndexer = (id: NodeId) => number | undefined;

/** The committed index of an empty configuration: "infinite", so a joint min ignores that half. */
export const UNBOUNDED_INDEX = Number.MAX_SAFE_INTEGER;

/** Largest index acknowledged by a majority of `voters`. */
export function majorityCommittedIndex(voters: ReadonlySet<NodeId>, acked: AckedIndexer): number {
  const n = voters.size;
  if (n === 0) return UNBOUNDED_INDEX;
  const srt: number[] = [];
  for (const id of voters) srt.push(acked(id) ?? 0);
  srt.sort((a, b) => a - b);
  return srt[n - (Math.floor(n / 2) + 1)] as number;
}

/** Outcome of a vote among `voters`; absent entries in `votes` are still pending. */
export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.size / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

/** Two majority configurations; `outgoing` is empty unless the configuration is joint. */
export interface JointConfig {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
}

export function jointCommittedIndex(c: JointConfig, acked: AckedIndexer): number {
  return Math.min(majorityCommittedIndex(c.incoming, acked), majorityCommittedIndex(c.outgoing, acked));
}

export function jointVoteResult(c: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const r1 = majorityVoteResult(c.incoming, votes);
  const r2 = majorityVoteResult(c.outgoing, votes);
  if (r1 === r2) return r1;
  if (r1 === 'lost' || r2 === 'lost') return 'lost';
  return 'pending';
}

/** Every voter of either half, sorted. */
export function jointIds(c: JointConfig): NodeId[] {
  const s = new Set<NodeId>([...c.incoming, ...c.outgoing]);
  return [...s].sort((a, b) => a - b);
}
