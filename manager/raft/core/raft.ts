// The Raft state machine (etcd-io/raft raft.go): pure and deterministic. Time is tick(), randomness
// is config.random, output accumulates in msgs / msgsAfterAppend / readStates and the log.
// Role-specific message handling lives in raft-leader.ts and raft-follower.ts.

import { encodeConfChange } from './conf-change-codec.js';
import { restoreConfState } from './confchange.js';
import { Inflights } from './inflights.js';
import { payloadsSize } from './limit-size.js';
import { RaftLog } from './log.js';
import { isCampaignTransfer, newMessage, voteRespType, CAMPAIGN_TRANSFER } from './message.js';
import { Progress } from './progress.js';
import { stepLeader } from './raft-leader.js';
import { applyConfChange, restoreSnapshot, switchToConfig } from './raft-membership.js';
import { stepCandidate, stepFollower } from './raft-follower.js';
import { RaftConfigError, validateConfig } from './raft-config.js';
import { ReadOnly } from './read-only.js';
import { ProgressTracker, type ProgressMap, type TrackerConfig } from './tracker.js';
import {
  EntryType, MessageType, NONE, RaftRole,
  type ConfChangeV2, type ConfState, type Entry, type HardState, type Message, type NodeId, type RaftConfig,
  type ReadState, type Snapshot, type SoftState,
} from './types.js';

/** Why a proposal (or other request) was not accepted. */
export class ProposalDroppedError extends Error {
  constructor(detail: string) { super(`raft proposal dropped: ${detail}`); this.name = 'ProposalDroppedError'; }
}

export type CampaignType = 'pre-election' | 'election' | 'transfer';

export type StepResult = { ok: true } | { ok: false; reason: 'dropped'; detail: string };
export const STEP_OK: StepResult = Object.freeze({ ok: true });
export const dropped = (detail: string): StepResult => ({ ok: false, reason: 'dropped', detail });

const UNLIMITED = Number.MAX_SAFE_INTEGER;

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  trk: ProgressTracker;
  state: RaftRole = RaftRole.Follower;
  isLearner = false;
  /** Messages that may be sent right away. */
  msgs: Message[] = [];
  /** Messages that may only be sent once the unstable state they follow is durable. */
  msgsAfterAppend: Message[] = [];
  lead: NodeId = NONE;
  leadTransferee: NodeId = NONE;
  /** Index of the last conf change the leader appended; a new one waits until applied >= this. */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  readOnly: ReadOnly;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  pendingReadIndexMessages: Message[] = [];
  private readonly random: (n: number) => number;
  readonly logger: ((line: string) => void) | undefined;

  constructor(c: RaftConfig) {
    validateConfig(c);
    this.id = c.id;
    this.random = c.random;
    this.logger = c.logger;
    const maxSizePerMsg = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxMsgSize = maxSizePerMsg;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? (maxSizePerMsg || UNLIMITED));
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ? c.maxUncommittedEntriesSize : UNLIMITED;
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? 256, c.maxInflightBytes ?? 0);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.readOnly = new ReadOnly(c.readOnlyOption ?? 'safe');
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? false;

    const { hardState, confState } = c.storage.initialState();
    const r = restoreConfState(confState, this.raftLog.lastIndex(), this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(r.config, r.progress);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied, 0);
    this.becomeFollower(this.term, NONE);
    this.log(`newRaft ${this.id} [term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}]`);
  }

  log(line: string): void {
    if (this.logger) this.logger(`raft ${this.id}: ${line}`);
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new RaftConfigError(`${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  /** Queues a message; fills in from and (for most types) term. */
  send(m: Message): void {
    m.from = this.id;
    if (m.type === MessageType.Vote || m.type === MessageType.VoteResp ||
        m.type === MessageType.PreVote || m.type === MessageType.PreVoteResp) {
      if (m.term === 0) throw new Error(`term should be set when sending ${m.type}`);
    } else {
      if (m.term !== 0) throw new Error(`term should not be set when sending ${m.type} (was ${m.term})`);
      // Proposals and read-index requests are forwarded as if local (no term).
      if (m.type !== MessageType.Prop && m.type !== MessageType.ReadIndex) m.term = this.term;
    }
    if (m.type === MessageType.AppResp || m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp) {
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id) throw new Error(`message should not be self-addressed when sending ${m.type}`);
      this.msgs.push(m);
    }
  }

  // --- roles -------------------------------------------------------------------------------

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.random(this.electionTimeout);
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      const fresh = new Progress(last + 1, new Inflights(this.trk.maxInflight, this.trk.maxInflightBytes), pr.isLearner);
      if (id === this.id) fresh.match = last;
      this.trk.progress.set(id, fresh);
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = RaftRole.Follower;
    this.log(`became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === RaftRole.Leader) throw new Error('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = RaftRole.Candidate;
    this.log(`became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === RaftRole.Leader) throw new Error('invalid transition [leader -> pre-candidate]');
    // Neither the term nor the vote changes.
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = RaftRole.PreCandidate;
    this.log(`became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === RaftRole.Follower) throw new Error('invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = RaftRole.Leader;
    const pr = this.trk.progress.get(this.id);
    if (pr) {
      pr.becomeReplicate();
      pr.recentActive = true;
    }
    // Conservatively wait for everything in the log before accepting a new conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }])) {
      throw new Error('empty entry was dropped');
    }
    this.log(`became leader at term ${this.term}`);
  }

  // --- ticks -------------------------------------------------------------------------------

  tick(): void {
    if (this.state === RaftRole.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === RaftRole.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== RaftRole.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.Beat, from: this.id }));
    }
  }

  // --- elections ---------------------------------------------------------------------------

  /** Member, voter, and no snapshot being installed. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    while (lo < hi) {
      const ents = this.raftLog.slice(lo, hi, this.raftLog.maxApplyingEntsSize);
      for (const e of ents) if (e.type === EntryType.ConfChange) return true;
      if (ents.length === 0) break;
      lo = (ents[ents.length - 1] as Entry).index + 1;
    }
    return false;
  }

  hup(t: CampaignType): void {
    if (this.state === RaftRole.Leader) return;
    if (!this.promotable()) { this.log('is unpromotable and can not campaign'); return; }
    if (this.hasUnappliedConfChanges()) { this.log('cannot campaign: pending conf changes to apply'); return; }
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      term = this.term + 1; // pre-votes are for the next term, without incrementing ours
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    for (const id of this.trk.voterIds()) {
      if (id === this.id) {
        // Our own vote counts once it is durable: delivered back to us after the next persist.
        this.send(newMessage({ type: voteRespType(voteMsg), to: id, term }));
        continue;
      }
      this.send(newMessage({
        type: voteMsg, to: id, term, index: this.raftLog.lastIndex(), logTerm: this.raftLog.lastTerm(),
        context: t === 'transfer' ? CAMPAIGN_TRANSFER : new Uint8Array(0),
      }));
    }
  }

  poll(id: NodeId, v: boolean): ReturnType<ProgressTracker['tallyVotes']> {
    this.trk.recordVote(id, v);
    return this.trk.tallyVotes();
  }

  // --- step --------------------------------------------------------------------------------

  step(m: Message): StepResult {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = isCampaignTransfer(m.context);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: ignore (§4.2.3 of the thesis).
          this.log(`ignored ${m.type} from ${m.from} at term ${m.term}: lease is not expired`);
          return STEP_OK;
        }
      }
      if (m.type === MessageType.PreVote) {
        // never change our term in response to a pre-vote
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // a granted pre-vote carries the future term; we bump it when we win
      } else if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // Tell a stale leader about the new term so it steps down (it may be stuck otherwise).
        this.send(newMessage({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(newMessage({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return STEP_OK;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? 'pre-election' : 'election');
        return STEP_OK;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote = this.vote === m.from || (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(newMessage({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return STEP_OK;
      }
      default:
        if (this.state === RaftRole.Leader) return stepLeader(this, m);
        if (this.state === RaftRole.Follower) return stepFollower(this, m);
        return stepCandidate(this, m);
    }
  }

  // --- log ---------------------------------------------------------------------------------

  /** Appends entries in the current term (leader); false when the uncommitted limit refuses them. */
  appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const ents = es.map((e, i) => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    if (!this.increaseUncommittedSize(ents)) {
      this.log('appending new entries would exceed the uncommitted entry size limit; dropping proposal');
      return false;
    }
    li = this.raftLog.append(ents);
    // Self-ack once durable (delivered back on advance).
    this.send(newMessage({ type: MessageType.AppResp, to: this.id, index: li }));
    return true;
  }

  private increaseUncommittedSize(ents: Entry[]): boolean {
    const s = payloadsSize(ents);
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /** Entries up to `index` were applied (after advance). May propose leaving a joint config. */
  appliedTo(index: number, size: number): void {
    const newApplied = Math.max(index, this.raftLog.applied);
    this.raftLog.appliedTo(newApplied, size);
    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === RaftRole.Leader) {
      // An empty ConfChangeV2 leaves the joint config; it registers as zero bytes.
      const res = this.step(newMessage({
        type: MessageType.Prop, from: this.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: new Uint8Array(0) }],
      }));
      if (res.ok) this.log('initiating automatic transition out of joint configuration');
      else this.log(`not initiating automatic transition out of joint configuration: ${res.detail}`);
    }
  }

  appliedSnap(index: number): void {
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  // --- snapshots and membership (raft-membership.ts) ------------------------------------------

  /** Installs a snapshot from the leader; false when it is stale or already covered. */
  restore(s: Snapshot): boolean {
    return restoreSnapshot(this, s);
  }

  applyConfChange(cc: ConfChangeV2): ConfState {
    return applyConfChange(this, cc);
  }

  switchToConfig(cfg: TrackerConfig, prs: ProgressMap): ConfState {
    return switchToConfig(this, cfg, prs);
  }

  /** Encodes a conf change as a proposal message (used by RawNode). */
  static confChangeMessage(cc: ConfChangeV2): Message {
    return newMessage({
      type: MessageType.Prop,
      entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
    });
  }
}
