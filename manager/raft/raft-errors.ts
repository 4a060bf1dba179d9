// Typed failures of the Raft driver. `outcome` says what the caller may assume about a write:
// 'not-applied' = it was never appended and never will be; 'unknown' = it may or may not commit.
import type { NodeId } from './core/types.js';

export type WriteOutcome = 'not-applied' | 'unknown';

export class RaftNodeError extends Error {
  constructor(message: string, readonly outcome: WriteOutcome, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RaftNodeError';
  }
}

/** This node is not the leader and cannot take the request; `leader` is the hint (0 = unknown). */
export class NotLeaderError extends RaftNodeError {
  constructor(readonly leader: NodeId, readonly leaderAddress: string | undefined) {
    super(leader === 0 ? 'no leader is known' : `not the leader; the leader is ${leader}${leaderAddress !== undefined ? ` at ${leaderAddress}` : ''}`, 'not-applied');
    this.name = 'NotLeaderError';
  }
}

/** The core refused the proposal (a leader transfer is in progress, the uncommitted log is full…). */
export class ProposalDroppedError extends RaftNodeError {
  constructor(detail: string) {
    super(`proposal dropped: ${detail}`, 'not-applied');
    this.name = 'ProposalDroppedError';
  }
}

/** The leader changed while the proposal was pending; it may still commit under the new leader. */
export class LeadershipLostError extends RaftNodeError {
  constructor(readonly leader: NodeId) {
    super(`leadership changed while the request was pending (leader now ${leader === 0 ? 'unknown' : leader}); outcome unknown`, 'unknown');
    this.name = 'LeadershipLostError';
  }
}

export class RaftTimeoutError extends RaftNodeError {
  constructor(what: string, ms: number) {
    super(`${what} did not complete within ${ms} ms; outcome unknown`, 'unknown');
    this.name = 'RaftTimeoutError';
  }
}

export class RaftStoppedError extends RaftNodeError {
  constructor() {
    super('the raft node is stopped', 'unknown');
    this.name = 'RaftStoppedError';
  }
}

/** A membership request that cannot be made (unknown member, bad address…). */
export class MembershipError extends RaftNodeError {
  constructor(message: string) {
    super(message, 'not-applied');
    this.name = 'MembershipError';
  }
}
