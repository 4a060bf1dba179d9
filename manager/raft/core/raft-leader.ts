// Leader behaviour (etcd-io/raft stepLeader and the send helpers): replication with flow control,
// snapshots to lagging followers, heartbeats, commit, ReadIndex, check quorum, leader transfer.

import { decodeConfChange } from './conf-change-codec.js';
import { payloadsSize } from './limit-size.js';
import { newMessage } from './message.js';
import { jointVoteResult } from './quorum.js';
import { dropped, STEP_OK, type Raft, type StepResult } from './raft.js';
import {
  CompactedError, EntryType, MessageType, NONE, ProgressState, RaftRole, SnapshotTemporarilyUnavailableError,
  UnavailableError, type Entry, type Message, type NodeId,
} from './types.js';

/** Sends a MsgApp (or a snapshot) to `to` unless its progress is paused; returns whether one was sent. */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.raftLog.termOrUndefined(prevIndex);
  if (prevTerm === undefined) return maybeSendSnapshot(r, to);
  let ents: Entry[] = [];
  if (pr.state !== ProgressState.Replicate || !pr.inflights.full()) {
    try {
      ents = r.raftLog.entries(pr.next, r.maxMsgSize);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return maybeSendSnapshot(r, to);
      throw e;
    }
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send(newMessage({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.raftLog.committed }));
  pr.sentEntries(ents.length, payloadsSize(ents));
  pr.sentCommitIndex(r.raftLog.committed);
  return true;
}

export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

function maybeSendSnapshot(r: Raft, to: NodeId): boolean {
  const pr = r.trk.progress.get(to);
  if (!pr || !pr.recentActive) return false;
  let snap;
  try {
    snap = r.raftLog.snapshot();
  } catch (e) {
    if (e instanceof SnapshotTemporarilyUnavailableError) return false;
    throw e;
  }
  if (snap.metadata.index === 0) throw new Error('need non-empty snapshot');
  pr.becomeSnapshot(snap.metadata.index);
  r.log(`sent snapshot [index: ${snap.metadata.index}, term: ${snap.metadata.term}] to ${to}`);
  r.send(newMessage({ type: MessageType.Snap, to, snapshot: snap }));
  return true;
}

/** Sends the index-0 snapshot (initial membership) to a joining node, or a real one if compacted. */
function sendBootstrapSnapshot(r: Raft, to: NodeId): void {
  const pr = r.trk.progress.get(to);
  if (!pr || pr.state === ProgressState.Snapshot) return;
  const snap = r.raftLog.snapshot();
  if (snap.metadata.index > 0) {
    maybeSendSnapshot(r, to);
    return;
  }
  pr.becomeSnapshot(0);
  r.log(`sent bootstrap membership snapshot to ${to}`);
  r.send(newMessage({ type: MessageType.Snap, to, snapshot: snap }));
}

export function bcastAppend(r: Raft): void {
  r.trk.visit((id) => {
    if (id !== r.id) sendAppend(r, id);
  });
}

function sendHeartbeat(r: Raft, to: NodeId, ctx: Uint8Array): void {
  const pr = r.trk.progress.get(to);
  if (!pr) return;
  // Never tell a follower to commit beyond what it is known to have.
  const commit = Math.min(pr.match, r.raftLog.committed);
  r.send(newMessage({ type: MessageType.Heartbeat, to, commit, context: ctx }));
  pr.sentCommitIndex(commit);
}

function bcastHeartbeatWithCtx(r: Raft, ctx: Uint8Array): void {
  r.trk.visit((id) => {
    if (id !== r.id) sendHeartbeat(r, id, ctx);
  });
}

export function bcastHeartbeat(r: Raft): void {
  bcastHeartbeatWithCtx(r, r.readOnly.lastPendingRequestCtx() ?? new Uint8Array(0));
}

function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(newMessage({ type: MessageType.TimeoutNow, to }));
}

/** Answers a ReadIndex request: locally (readStates) or with MsgReadIndexResp to a follower. */
function respondReadIndex(r: Raft, req: Message, readIndex: number): void {
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index: readIndex, requestCtx: req.context });
    return;
  }
  r.send(newMessage({ type: MessageType.ReadIndexResp, to: req.from, index: readIndex, context: req.context }));
}

function sendReadIndexResponse(r: Raft, m: Message): void {
  if (r.readOnly.option === 'safe') {
    r.readOnly.addRequest(r.raftLog.committed, m);
    r.readOnly.recvAck(r.id, m.context); // the leader acks its own request
    bcastHeartbeatWithCtx(r, m.context);
  } else {
    respondReadIndex(r, m, r.raftLog.committed);
  }
}

export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0) return;
  if (!r.committedEntryInCurrentTerm()) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendReadIndexResponse(r, m);
}

function stepProposal(r: Raft, m: Message): StepResult {
  if (m.entries.length === 0) throw new Error('stepped empty MsgProp');
  if (!r.trk.progress.has(r.id)) return dropped('this leader was removed from the configuration');
  if (r.leadTransferee !== NONE) return dropped(`leadership is being transferred to ${r.leadTransferee}`);
  const entries = m.entries.map((e) => ({ ...e }));
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    if (e.type !== EntryType.ConfChange) continue;
    let wantsLeaveJoint: boolean;
    try {
      wantsLeaveJoint = decodeConfChange(e.data).changes.length === 0;
    } catch {
      entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
      continue;
    }
    const alreadyPending = r.pendingConfIndex > r.raftLog.applied;
    const alreadyJoint = r.trk.isJoint();
    let failed = '';
    if (alreadyPending) failed = `possible unapplied conf change at index ${r.pendingConfIndex} (applied to ${r.raftLog.applied})`;
    else if (alreadyJoint && !wantsLeaveJoint) failed = 'must transition out of joint config first';
    else if (!alreadyJoint && wantsLeaveJoint) failed = 'not in joint state; refusing empty conf change';
    if (failed !== '') {
      r.log(`ignoring conf change: ${failed}`);
      entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
    } else {
      r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
    }
  }
  if (!r.appendEntry(entries)) return dropped('the uncommitted entry size limit was reached');
  bcastAppend(r);
  return STEP_OK;
}

export function stepLeader(r: Raft, m: Message): StepResult {
  switch (m.type) {
    case MessageType.Beat:
      bcastHeartbeat(r);
      return STEP_OK;
    case MessageType.CheckQuorum: {
      if (!r.trk.quorumActive()) {
        r.log('stepped down to follower since quorum is not active');
        r.becomeFollower(r.term, NONE);
      }
      r.trk.visit((id, pr) => {
        if (id !== r.id) pr.recentActive = false;
      });
      return STEP_OK;
    }
    case MessageType.Prop:
      return stepProposal(r, m);
    case MessageType.ReadIndex:
      if (r.trk.isSingleton()) {
        respondReadIndex(r, m, r.raftLog.committed);
        return STEP_OK;
      }
      // A new leader does not know the commit index until it commits an entry of its own term.
      if (!r.committedEntryInCurrentTerm()) {
        r.pendingReadIndexMessages.push(m);
        return STEP_OK;
      }
      sendReadIndexResponse(r, m);
      return STEP_OK;
    case MessageType.ForgetLeader:
      return STEP_OK;
  }

  const pr = r.trk.progress.get(m.from);
  if (!pr) return STEP_OK;
  switch (m.type) {
    case MessageType.AppResp: {
      pr.recentActive = true;
      if (m.reject) {
        if (m.index === 0) {
          // A joining node asks for the bootstrap membership (see raft-follower needsBootstrap);
          // stale once anything matched.
          if (pr.match === 0) sendBootstrapSnapshot(r, m.from);
          return STEP_OK;
        }
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          sendAppend(r, m.from);
        }
        return STEP_OK;
      }
      const bootstrapped = pr.state === ProgressState.Snapshot && pr.pendingSnapshot === 0 && pr.match === m.index &&
        pr.match + 1 >= r.raftLog.firstIndex();
      if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe) || bootstrapped) {
        if (pr.state === ProgressState.Probe) {
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.raftLog.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === ProgressState.Replicate) {
          pr.inflights.freeLE(m.index);
        }
        if (r.maybeCommit()) {
          releasePendingReadIndexMessages(r);
          bcastAppend(r);
        } else if (r.id !== m.from && pr.canBumpCommit(r.raftLog.committed)) {
          sendAppend(r, m.from);
        }
        if (r.id !== m.from) {
          while (maybeSendAppend(r, m.from, false)) { /* send as much as flow control allows */ }
        }
        if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
          r.log(`sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
          sendTimeoutNow(r, m.from);
        }
      }
      return STEP_OK;
    }
    case MessageType.HeartbeatResp: {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      if (pr.match < r.raftLog.lastIndex() || pr.state === ProgressState.Probe) sendAppend(r, m.from);
      if (r.readOnly.option !== 'safe' || m.context.length === 0) return STEP_OK;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks || jointVoteResult(r.trk.config.voters, acks) !== 'won') return STEP_OK;
      for (const rs of r.readOnly.advance(m.context)) respondReadIndex(r, rs.req, rs.index);
      return STEP_OK;
    }
    case MessageType.SnapStatus: {
      if (pr.state !== ProgressState.Snapshot) return STEP_OK;
      if (m.reject) pr.pendingSnapshot = 0; // failed: probe from match, not the snapshot index
      pr.becomeProbe();
      // Wait for the MsgAppResp (success) or a heartbeat interval (failure) before the next append.
      pr.msgAppFlowPaused = true;
      return STEP_OK;
    }
    case MessageType.Unreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return STEP_OK;
    case MessageType.TransferLeader: {
      if (pr.isLearner) return STEP_OK;
      const transferee = m.from;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === transferee) return STEP_OK;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return STEP_OK;
      r.electionElapsed = 0; // the transfer must finish within one election timeout
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, transferee);
      else sendAppend(r, transferee);
      return STEP_OK;
    }
  }
  return STEP_OK;
}

export const isLeader = (r: Raft): boolean => r.state === RaftRole.Leader;
