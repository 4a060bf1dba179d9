// Snapshot installation and membership changes on the Raft state machine (etcd-io/raft
// restore / applyConfChange / switchToConfig). Changes take effect when applied, not appended.

import { entersJoint, isLeaveJoint } from './conf-change-codec.js';
import { enterJoint, leaveJoint, restoreConfState, simpleChange, type ConfChangeResult } from './confchange.js';
import { bcastAppend, maybeSendAppend } from './raft-leader.js';
import type { Raft } from './raft.js';
import { ProgressTracker, type ProgressMap, type TrackerConfig } from './tracker.js';
import { NONE, RaftRole, type ConfChangeV2, type ConfState, type Snapshot } from './types.js';

/** Installs a snapshot from the leader; false when it is stale or already covered. */
export function restoreSnapshot(r: Raft, s: Snapshot): boolean {
  const bootstrap = s.metadata.index === 0 && r.raftLog.lastIndex() === 0 && !r.trk.progress.has(r.id);
  if (s.metadata.index <= r.raftLog.committed && !bootstrap) return false;
  if (r.state !== RaftRole.Follower) {
    // Defense in depth: never restore a snapshot as a leader or candidate.
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  const cs = s.metadata.confState;
  // The bootstrap membership need not contain a joining node: the log adds it later.
  if (!bootstrap && !cs.voters.includes(r.id) && !cs.learners.includes(r.id) && !cs.votersOutgoing.includes(r.id)) {
    r.log(`attempted to restore snapshot but it is not in the ConfState ${JSON.stringify(cs)}; should never happen`);
    return false;
  }
  if (!bootstrap && r.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
    // We already have the entry: fast-forward commit only.
    r.raftLog.commitTo(s.metadata.index);
    return false;
  }
  r.raftLog.restore(s);
  r.trk = new ProgressTracker(r.trk.maxInflight, r.trk.maxInflightBytes);
  const res = restoreConfState(cs, r.raftLog.lastIndex(), r.trk.maxInflight, r.trk.maxInflightBytes);
  switchToConfig(r, res.config, res.progress);
  r.log(`restored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
  return true;
}

export function applyConfChange(r: Raft, cc: ConfChangeV2): ConfState {
  const ctx = {
    config: r.trk.config, progress: r.trk.progress, lastIndex: r.raftLog.lastIndex(),
    maxInflight: r.trk.maxInflight, maxInflightBytes: r.trk.maxInflightBytes,
  };
  let res: ConfChangeResult;
  if (isLeaveJoint(cc)) res = leaveJoint(ctx);
  else {
    const j = entersJoint(cc);
    res = j.joint ? enterJoint(ctx, j.autoLeave, cc.changes) : simpleChange(ctx, cc.changes);
  }
  return switchToConfig(r, res.config, res.progress);
}

export function switchToConfig(r: Raft, cfg: TrackerConfig, prs: ProgressMap): ConfState {
  r.trk.config = cfg;
  r.trk.progress = prs;
  const cs = r.trk.confState();
  const pr = prs.get(r.id);
  r.isLearner = pr !== undefined && pr.isLearner;
  if ((pr === undefined || r.isLearner) && r.state === RaftRole.Leader) {
    // Removed or demoted leader: keeps leading (dropping proposals) unless asked to step down.
    if (r.stepDownOnRemoval) r.becomeFollower(r.term, NONE);
    return cs;
  }
  if (r.state !== RaftRole.Leader || cs.voters.length === 0) return cs;
  if (r.maybeCommit()) {
    bcastAppend(r);
  } else {
    // Probe newly added replicas right away.
    r.trk.visit((id) => {
      if (id !== r.id) maybeSendAppend(r, id, false);
    });
  }
  if (r.leadTransferee !== NONE && !r.trk.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
  return cs;
}
