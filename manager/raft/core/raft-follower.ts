// Follower and (pre-)candidate behaviour (etcd-io/raft stepFollower / stepCandidate) and the
// handlers for the leader's MsgApp, MsgHeartbeat and MsgSnap.

import { newMessage } from './message.js';
import { bcastAppend } from './raft-leader.js';
import { dropped, STEP_OK, type Raft, type StepResult } from './raft.js';
import { LogInvariantError } from './log.js';
import { MessageType, NONE, RaftRole, type Message } from './types.js';

/** A joining node (empty log, no configuration) cannot use entries from index 1 alone: the initial
 *  membership lives in the index-0 ConfState, not in the log. Rejecting at index 0 (which never
 *  happens otherwise) asks the leader for that bootstrap state as a snapshot. */
function needsBootstrap(r: Raft): boolean {
  return !r.trk.progress.has(r.id) && r.trk.config.voters.incoming.size === 0 && r.raftLog.lastIndex() === 0;
}

function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index === 0 && needsBootstrap(r)) {
    r.send(newMessage({ type: MessageType.AppResp, to: m.from, index: 0, reject: true, rejectHint: 0 }));
    return;
  }
  if (m.index < r.raftLog.committed) {
    r.send(newMessage({ type: MessageType.AppResp, to: m.from, index: r.raftLog.committed }));
    return;
  }
  const last = r.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (last !== undefined) {
    r.send(newMessage({ type: MessageType.AppResp, to: m.from, index: last }));
    return;
  }
  // Hint the largest (index, term) that may match, skipping our entries with terms above m.logTerm.
  const hint = r.raftLog.findConflictByTerm(Math.min(m.index, r.raftLog.lastIndex()), m.logTerm);
  r.send(newMessage({
    type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term,
  }));
}

function handleHeartbeat(r: Raft, m: Message): void {
  // The leader sends min(match, committed): this node acknowledged that much in this term, and
  // nothing but a lost or corrupted log shrinks it. Clamping would hide that (and leave the leader
  // probing forever); refuse loudly, as etcd does.
  if (m.commit > r.raftLog.lastIndex()) {
    throw new LogInvariantError(`heartbeat from ${m.from} commits ${m.commit} beyond last index ${r.raftLog.lastIndex()}: ` +
      'entries this node acknowledged are gone (was the log corrupted, truncated, or lost?)');
  }
  r.raftLog.commitTo(m.commit);
  r.send(newMessage({ type: MessageType.HeartbeatResp, to: m.from, context: m.context }));
}

function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (!s) return;
  if (r.restore(s)) {
    r.send(newMessage({ type: MessageType.AppResp, to: m.from, index: r.raftLog.lastIndex() }));
  } else {
    r.send(newMessage({ type: MessageType.AppResp, to: m.from, index: r.raftLog.committed }));
  }
}

export function stepFollower(r: Raft, m: Message): StepResult {
  switch (m.type) {
    case MessageType.Prop:
      if (r.lead === NONE) return dropped('no leader');
      if (r.disableProposalForwarding) return dropped('proposal forwarding is disabled');
      r.send({ ...m, to: r.lead });
      return STEP_OK;
    case MessageType.App:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return STEP_OK;
    case MessageType.Heartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return STEP_OK;
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return STEP_OK;
    case MessageType.TransferLeader:
      if (r.lead === NONE) return dropped('no leader to transfer leadership');
      r.send({ ...m, to: r.lead, term: 0 });
      return STEP_OK;
    case MessageType.ForgetLeader:
      if (r.readOnly.option === 'lease-based') return dropped('ignoring forget leader due to lease-based reads');
      if (r.lead !== NONE) r.lead = NONE;
      return STEP_OK;
    case MessageType.TimeoutNow:
      // Campaign even in lease: the leader asked us to (transfer).
      r.hup('transfer');
      return STEP_OK;
    case MessageType.ReadIndex:
      if (r.lead === NONE) return dropped('no leader to serve the read index');
      r.send({ ...m, to: r.lead });
      return STEP_OK;
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return STEP_OK;
  }
  return STEP_OK;
}

export function stepCandidate(r: Raft, m: Message): StepResult {
  const myVoteResp = r.state === RaftRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      return dropped('no leader (campaigning)');
    case MessageType.App:
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return STEP_OK;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return STEP_OK;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return STEP_OK;
    case MessageType.TimeoutNow:
      return STEP_OK;
    case MessageType.ReadIndex:
      return dropped('no leader to serve the read index');
    default:
      if (m.type !== myVoteResp) return STEP_OK;
  }
  const { granted, rejected, result } = r.poll(m.from, !m.reject);
  r.log(`has received ${granted} ${m.type} votes and ${rejected} vote rejections`);
  if (result === 'won') {
    if (r.state === RaftRole.PreCandidate) {
      r.campaign('election');
    } else {
      r.becomeLeader();
      bcastAppend(r);
    }
  } else if (result === 'lost') {
    r.becomeFollower(r.term, NONE);
  }
  return STEP_OK;
}
