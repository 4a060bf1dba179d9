// The leader's bookkeeping of the configuration and every member's progress (etcd-io/raft
// tracker/tracker.go): committed index, quorum activity and the vote tally.

import { Progress } from './progress.js';
import { jointCommittedIndex, jointIds, jointVoteResult, type JointConfig, type VoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

export interface TrackerConfig {
  voters: JointConfig;
  /** Voters in the incoming half become learners when leaving the joint config (no overlap meanwhile). */
  autoLeave: boolean;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
}

export type ProgressMap = Map<NodeId, Progress>;

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: { incoming: new Set(), outgoing: new Set() }, autoLeave: false, learners: new Set(), learnersNext: new Set() };
}

export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: { incoming: new Set(c.voters.incoming), outgoing: new Set(c.voters.outgoing) },
    autoLeave: c.autoLeave,
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
  };
}

const sorted = (s: Iterable<NodeId>): NodeId[] => [...s].sort((a, b) => a - b);

export function confStateOf(c: TrackerConfig): ConfState {
  return {
    voters: sorted(c.voters.incoming),
    votersOutgoing: sorted(c.voters.outgoing),
    learners: sorted(c.learners),
    learnersNext: sorted(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export interface VoteTally { granted: number; rejected: number; result: VoteResult }

export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress: ProgressMap = new Map();
  votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number, readonly maxInflightBytes: number) {}

  confState(): ConfState {
    return confStateOf(this.config);
  }

  isJoint(): boolean {
    return this.config.voters.outgoing.size > 0;
  }

  /** True when the configuration has exactly one voter (the leader can act alone). */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  /** Largest index a quorum has persisted (match). */
  committed(): number {
    return jointCommittedIndex(this.config.voters, (id) => this.progress.get(id)?.match);
  }

  /** Calls `f` for every member in id order. */
  visit(f: (id: NodeId, pr: Progress) => void): void {
    for (const id of sorted(this.progress.keys())) f(id, this.progress.get(id) as Progress);
  }

  /** True if a quorum of voters was recently active. */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) if (!pr.isLearner) votes.set(id, pr.recentActive);
    return jointVoteResult(this.config.voters, votes) === 'won';
  }

  voterIds(): NodeId[] {
    return jointIds(this.config.voters);
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters.incoming.has(id) || this.config.voters.outgoing.has(id);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** Records the first vote of `id` (later ones are ignored). */
  recordVote(id: NodeId, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) };
  }
}
