// The synchronous API around the Raft state machine (etcd-io/raft rawnode.go), in the
// synchronous-storage mode. One Ready at a time: persist -> send -> apply -> advance().
//
// Messages that depend on local durability (MsgAppResp, MsgVoteResp, MsgPreVoteResp) are never in
// the Ready whose state they depend on: they are handed out in the Ready *after* the advance() that
// confirms persistence. So a driver may send a Ready's messages before its own fsync completes.

import { entriesSize, payloadsSize } from './limit-size.js';
import { isResponseMessage, newMessage } from './message.js';
import { Raft } from './raft.js';
import {
  isLocalMessage, MessageType, NONE, RaftRole,
  type ConfChangeV2, type ConfState, type Entry, type HardState, type Message, type NodeId, type ProgressStatus,
  type ProposeResult, type RaftConfig, type Ready, type SoftState, type Status,
} from './types.js';

export class ReadyContractError extends Error {
  constructor(message: string) { super(`raw node: ${message}`); this.name = 'ReadyContractError'; }
}

type OnAdvance = () => void;

export function mustSync(st: HardState, prev: HardState, entsNum: number): boolean {
  return entsNum !== 0 || st.vote !== prev.vote || st.term !== prev.term;
}

const sameHardState = (a: HardState, b: HardState): boolean => a.term === b.term && a.vote === b.vote && a.commit === b.commit;

export class RawNode {
  private readonly raft: Raft;
  private prevSoftSt: SoftState;
  private prevHardSt: HardState;
  /** Work to do on advance(); non-null between ready() and advance(). */
  private stepsOnAdvance: OnAdvance[] | null = null;
  /** Durability-dependent messages to others, released in the Ready after the next advance. */
  private afterPersist: Message[] = [];
  /** Released by the last advance(), part of the next Ready. */
  private releasedAfterPersist: Message[] = [];

  /** Membership comes from config.storage.initialState(). */
  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftSt = this.raft.softState();
    this.prevHardSt = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Campaigns now (becomes a (pre-)candidate) if allowed. */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.Hup, from: this.raft.id }));
  }

  propose(data: Uint8Array): ProposeResult {
    return this.raft.step(newMessage({
      type: MessageType.Prop, from: this.raft.id, entries: [{ term: 0, index: 0, type: 0, data }],
    }));
  }

  proposeConfChange(cc: ConfChangeV2): ProposeResult {
    const m = Raft.confChangeMessage(cc);
    m.from = this.raft.id;
    return this.raft.step(m);
  }

  /** Applies a committed conf change entry; returns the new configuration. */
  applyConfChange(cc: ConfChangeV2): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Delivers a message from the network (local-only types and responses from non-members are ignored). */
  step(m: Message): void {
    if (isLocalMessage(m.type)) return;
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) return;
    this.raft.step(m);
  }

  /** Like step, but reports whether the message (a proposal, a read index) was dropped. */
  stepWithResult(m: Message): ProposeResult {
    if (isLocalMessage(m.type)) return { ok: false, reason: 'dropped', detail: 'local message from the network' };
    if (isResponseMessage(m.type) && !this.raft.trk.progress.has(m.from)) {
      return { ok: false, reason: 'dropped', detail: `response from unknown peer ${m.from}` };
    }
    return this.raft.step(m);
  }

  private allowUnstable(): boolean {
    return true; // synchronous storage writes: committed entries may be applied before local persistence
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftSt.lead || ss.role !== this.prevSoftSt.role) return true;
    const hs = r.hardState();
    if (!sameHardState(hs, this.prevHardSt) && !(hs.term === 0 && hs.vote === NONE && hs.commit === 0)) return true;
    if (r.raftLog.nextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0 || this.releasedAfterPersist.length > 0) return true;
    if (r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts(this.allowUnstable())) return true;
    if (r.readStates.length > 0) return true;
    return false;
  }

  /** The next batch of work. Accepting a second Ready before advance() throws. */
  ready(): Ready {
    if (this.stepsOnAdvance !== null) throw new ReadyContractError('two accepted Ready structs without call to advance');
    const r = this.raft;
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.raftLog.nextUnstableEnts(),
      committedEntries: r.raftLog.nextCommittedEnts(this.allowUnstable()),
      messages: this.releasedAfterPersist.concat(r.msgs),
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoftSt.lead || ss.role !== this.prevSoftSt.role) rd.softState = ss;
    const hs = r.hardState();
    if (!sameHardState(hs, this.prevHardSt)) rd.hardState = hs;
    const snap = r.raftLog.nextUnstableSnapshot();
    if (snap) rd.snapshot = snap;
    rd.mustSync = mustSync(hs, this.prevHardSt, rd.entries.length);

    // --- accept ---
    if (rd.softState) this.prevSoftSt = rd.softState;
    if (rd.hardState) this.prevHardSt = rd.hardState;
    r.readStates = [];
    const steps: OnAdvance[] = [];
    for (const m of r.msgsAfterAppend) {
      if (m.to === r.id) steps.push(() => { r.step(m); });
      else this.afterPersist.push(m);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1] as Entry;
      steps.push(() => r.raftLog.stableTo(last.index, last.term));
    }
    if (rd.snapshot) {
      const index = rd.snapshot.metadata.index;
      steps.push(() => r.appliedSnap(index));
    }
    if (rd.committedEntries.length > 0) {
      const ents = rd.committedEntries;
      const last = (ents[ents.length - 1] as Entry).index;
      const size = entriesSize(ents);
      steps.push(() => {
        r.appliedTo(last, size);
        r.reduceUncommittedSize(payloadsSize(ents));
      });
      r.raftLog.acceptApplying(last, size, this.allowUnstable());
    }
    r.msgs = [];
    r.msgsAfterAppend = [];
    this.releasedAfterPersist = [];
    r.raftLog.acceptUnstable();
    this.stepsOnAdvance = steps;
    return rd;
  }

  /** The last Ready was persisted, sent and applied. */
  advance(): void {
    const steps = this.stepsOnAdvance;
    if (steps === null) throw new ReadyContractError('advance() without a Ready');
    this.stepsOnAdvance = null;
    // Everything of the last Ready is durable now: the responses that waited for it may go out.
    this.releasedAfterPersist = this.afterPersist;
    this.afterPersist = [];
    for (const s of steps) s();
  }

  transferLeader(transferee: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.TransferLeader, from: transferee }));
  }

  /** Requests a read index; the answer arrives as a ReadState carrying `ctx`. */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(newMessage({ type: MessageType.ReadIndex, context: ctx }));
  }

  /** Like readIndex, but reports a request dropped for lack of a leader. */
  readIndexWithResult(ctx: Uint8Array): ProposeResult {
    return this.raft.step(newMessage({ type: MessageType.ReadIndex, context: ctx }));
  }

  forgetLeader(): void {
    this.raft.step(newMessage({ type: MessageType.ForgetLeader }));
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.Unreachable, from: id }));
  }

  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void {
    this.raft.step(newMessage({ type: MessageType.SnapStatus, from: id, reject: status === 'failure' }));
  }

  status(): Status {
    const r = this.raft;
    const st: Status = {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
    };
    if (r.state === RaftRole.Leader) {
      const progress = new Map<NodeId, ProgressStatus>();
      r.trk.visit((id, pr) => progress.set(id, pr.toStatus()));
      st.progress = progress;
    }
    return st;
  }

  // --- introspection for tests and simulators (read-only views) ---

  /** The node's whole log view: [firstIndex, lastIndex], committed, applied. */
  logState(): { firstIndex: number; lastIndex: number; committed: number; applied: number; lastTerm: number } {
    const l = this.raft.raftLog;
    return { firstIndex: l.firstIndex(), lastIndex: l.lastIndex(), committed: l.committed, applied: l.applied, lastTerm: l.lastTerm() };
  }

  /** Entries in [lo, hi) from the node's log (stable and unstable). */
  logEntries(lo: number, hi: number): Entry[] {
    return this.raft.raftLog.slice(lo, hi, Number.MAX_SAFE_INTEGER);
  }

  /** Current term of entry i, or undefined when compacted/unavailable. */
  logTerm(i: number): number | undefined {
    return this.raft.raftLog.termOrUndefined(i);
  }

  /** Bytes of uncommitted entries the leader accounts for (maxUncommittedEntriesSize). */
  uncommittedSize(): number {
    return this.raft.uncommittedSize;
  }

  /** Ticks the election timer without campaigning (quiesced). */
  tickQuiesced(): void {
    this.raft.electionElapsed++;
  }

  /** The randomized election timeout currently in force (ticks). */
  randomizedElectionTimeout(): number {
    return this.raft.randomizedElectionTimeout;
  }
}
