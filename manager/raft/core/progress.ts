// The leader's view of one follower (etcd-io/raft tracker/progress.go). Invariant: match < next.
//   probe:     at most one MsgApp per heartbeat interval until the match point is found;
//   replicate: optimistic pipelining bounded by Inflights;
//   snapshot:  paused until the snapshot is applied (MsgAppResp) or reported.

import { Inflights } from './inflights.js';
import { ProgressState, type ProgressStatus } from './types.js';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Index of the snapshot in flight while in the snapshot state (0 = none). */
  pendingSnapshot = 0;
  /** Heard from within the last election timeout (check quorum). */
  recentActive = false;
  /** Sending MsgApp is paused (probe: one already sent; replicate: inflights full). */
  msgAppFlowPaused = false;
  /** Highest commit index sent to the follower. */
  sentCommit = 0;
  isLearner: boolean;
  inflights: Inflights;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = Math.max(next, 1);
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  clone(): Progress {
    const p = new Progress(this.next, this.inflights.clone(), this.isLearner);
    p.match = this.match;
    p.state = this.state;
    p.pendingSnapshot = this.pendingSnapshot;
    p.recentActive = this.recentActive;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    p.sentCommit = this.sentCommit;
    return p;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeSnapshot(snapIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapIndex;
    this.next = snapIndex + 1;
    this.sentCommit = snapIndex;
  }

  /** Accounts for a MsgApp carrying `entries` entries of `bytes` payload bytes. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      if (entries > 0) this.msgAppFlowPaused = true;
    } else {
      throw new Error(`sending append in unhandled progress state ${this.state}`);
    }
  }

  /** Sending `index` as the commit is useful: not sent yet and the follower may have it. */
  canBumpCommit(index: number): boolean {
    return index > this.sentCommit && this.sentCommit < this.next - 1;
  }

  sentCommitIndex(commit: number): void {
    this.sentCommit = commit;
  }

  /** A positive MsgAppResp for index `n`; returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejected MsgApp for index `rejected`, with the follower's hint that its log may match up to
   * `matchHint`. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommit = Math.min(this.sentCommit, this.next - 1);
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe: return this.msgAppFlowPaused;
      case ProgressState.Replicate: return this.msgAppFlowPaused;
      case ProgressState.Snapshot: return true;
    }
  }

  toStatus(): ProgressStatus {
    return {
      match: this.match, next: this.next, state: this.state, isLearner: this.isLearner,
      recentActive: this.recentActive, pendingSnapshot: this.pendingSnapshot, inflight: this.inflights.count(),
    };
  }
}
