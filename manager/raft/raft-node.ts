// The async driver around the synchronous Raft core: owns the tick timer and the Ready loop
// (persist → send → apply → advance; a leader sends before its own fsync, followers after),
// groups every proposal made while a Ready is handled into the next one (many per fsync), applies
// committed entries in order to a StateMachine, resolves proposals once applied locally, serves
// linearizable reads through ReadIndex, applies membership changes through the log, snapshots and
// compacts, and restarts from disk.
import { randomInt } from 'node:crypto';
import type { Registry } from 'prom-client';
import {
  ConfChangeTransition, ConfChangeType, EntryType, MessageType, RaftRole, seededRandom,
  type ConfChangeV2, type ConfState, type Entry, type Message, type NodeId, type RaftRole as Role,
  type Snapshot, type Status, type Storage,
} from './core/types.js';
import type { PersistBatch } from './disk-storage.js';
import type { CoreModule, RaftCore } from './load-core.js';
import {
  decodeMemberContext, encodeMemberContext, unwrapProposal, unwrapSnapshot, wrapProposal, wrapSnapshot,
} from './raft-envelope.js';
import {
  LeadershipLostError, MembershipError, NotLeaderError, ProposalDroppedError, RaftStoppedError, RaftTimeoutError,
  type RaftNodeError,
} from './raft-errors.js';
import { RaftMetrics } from './raft-metrics.js';
import { ReadWaiters } from './read-waiters.js';
import type { Transport, TransportHandler } from './transport/transport.js';

/** The application's replicated state. `apply` must be deterministic. */
export interface StateMachine {
  apply(data: Uint8Array, index: number): unknown;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

/** What the driver needs from DiskStorage (manager/raft/disk-storage.ts). */
export interface RaftStorage {
  readonly storage: Storage;
  isNew(): boolean;
  bootstrap(voters: NodeId[], learners?: NodeId[]): void;
  /** Persists one Ready (fdatasync when batch.mustSync); the loop awaits it, so it may sync off-thread. */
  save(batch: PersistBatch): Promise<void>;
  createSnapshot(index: number, cs: ConfState | undefined, data: Uint8Array): Snapshot;
  /**
   * Optional: as createSnapshot, but the memory side is done on return and the disk side settles
   * later (off the event loop). Used for the periodic snapshots when present.
   */
  createSnapshotAsync?(index: number, cs: ConfState | undefined, data: Uint8Array): Promise<Snapshot>;
  compact(keepFrom: number): void;
  close(): void;
}

export interface RaftNodeOptions {
  id: NodeId;
  storage: RaftStorage;
  transport: Transport;
  stateMachine: StateMachine;
  /** The core (loadCore() gives the real RawNode and its conf-change decoder). */
  core: CoreModule;
  /** Initial members (id → raft address) for a new cluster; ignored on restart. Include self. */
  initialMembers?: ReadonlyMap<NodeId, string>;
  /** Join an existing cluster: start with no configuration and wait to be added. */
  join?: boolean;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  snapshotInterval?: number;
  keepEntries?: number;
  /** Rejects a pending proposal or read after this long (outcome unknown). Default 10 s. */
  requestTimeoutMs?: number;
  /** On a broken stream from the leader: forget it and campaign at once (PreVote keeps this safe). Default true. */
  fastFailover?: boolean;
  registry?: Registry;
  /** Told when the node stops itself after a storage or contract failure. */
  onFatal?: (e: Error) => void;
  random?: (n: number) => number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
}

export interface RaftNodeStatus {
  id: NodeId;
  role: Role;
  leader: NodeId;
  term: number;
  commit: number;
  applied: number;
  leaderChanges: number;
  syncs: number;
  snapshotIndex: number;
  members: Array<{ id: NodeId; address: string; learner: boolean }>;
  core: Status;
}

interface PendingProposal {
  resolve(v: { index: number; result: unknown }): void;
  reject(e: RaftNodeError): void;
  started: number;
  timer: NodeJS.Timeout;
}

export class RaftNode {
  private readonly core: RaftCore;
  private readonly opts: Required<Pick<RaftNodeOptions, 'tickMs' | 'snapshotInterval' | 'keepEntries' | 'requestTimeoutMs' | 'fastFailover'>>;
  private readonly members = new Map<NodeId, string>();
  /** Peers handed to the transport (id → address). */
  private readonly peers = new Map<NodeId, string>();
  private readonly pending = new Map<number, PendingProposal>();
  private readonly reads: ReadWaiters;
  private readonly metrics: RaftMetrics | undefined;
  private readonly epoch = randomInt(0x7fffffff);
  private seq = 0;
  private role: Role = RaftRole.Follower;
  private leader: NodeId = 0;
  private term = 0;
  private commit = 0;
  private applied = 0;
  private snapshotIndex = 0;
  private confState: ConfState;
  private leaderChanges = 0;
  private syncs = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private campaignTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private processing = false;
  private snapshotting = false;
  private stopped = false;
  private fatal: Error | undefined;

  private constructor(private readonly o: RaftNodeOptions) {
    this.opts = {
      tickMs: o.tickMs ?? 100, snapshotInterval: o.snapshotInterval ?? 10_000, keepEntries: o.keepEntries ?? 500,
      requestTimeoutMs: o.requestTimeoutMs ?? 10_000, fastFailover: o.fastFailover ?? true,
    };
    if (o.registry !== undefined) this.metrics = new RaftMetrics(o.registry);
    const st = o.storage;
    if (st.isNew() && o.join !== true) {
      const init = o.initialMembers ?? new Map([[o.id, '']]);
      st.bootstrap([...init.keys()]);
      for (const [id, addr] of init) this.members.set(id, addr);
    } else if (st.isNew() && o.initialMembers !== undefined) {
      for (const [id, addr] of o.initialMembers) this.members.set(id, addr);
    }
    const snap = st.storage.snapshot();
    this.confState = st.storage.initialState().confState;
    if (snap.metadata.index > 0) {
      const { members, app } = unwrapSnapshot(snap.data);
      o.stateMachine.restore(app);
      for (const [id, addr] of members) this.members.set(id, addr);
      this.applied = snap.metadata.index;
      this.snapshotIndex = snap.metadata.index;
    } else if (!st.isNew() && o.initialMembers !== undefined) {
      // Restart before the first snapshot: conf changes replay from the log; the flags give the seed.
      for (const [id, addr] of o.initialMembers) if (!this.members.has(id)) this.members.set(id, addr);
    }
    const hs = st.storage.initialState().hardState;
    this.term = hs.term;
    this.commit = hs.commit;
    this.core = o.core.createCore({
      id: o.id,
      electionTick: o.electionTicks ?? 10,
      heartbeatTick: o.heartbeatTicks ?? 1,
      storage: st.storage,
      applied: this.applied,
      maxSizePerMsg: o.maxSizePerMsg ?? 1 << 20,
      maxInflightMsgs: o.maxInflightMsgs ?? 256,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: 'safe',
      random: o.random ?? seededRandom(randomInt(0x7fffffff)),
    });
    this.reads = new ReadWaiters(this.opts.requestTimeoutMs);
  }

  /** Creates the node, starts the transport and the tick timer. */
  static async start(o: RaftNodeOptions): Promise<RaftNode> {
    const n = new RaftNode(o);
    n.syncPeers();
    const handler: TransportHandler = {
      receive: (m: Message) => {
        if (n.stopped) return;
        if (n.campaignTimer !== undefined && (m.type === MessageType.PreVote || m.type === MessageType.Vote)) n.onCampaignSeen(m);
        n.core.step(m);
        n.schedule();
      },
      reportUnreachable: (id) => { if (!n.stopped) n.core.reportUnreachable(id); },
      reportSnapshot: (id, outcome) => { if (!n.stopped) { n.core.reportSnapshot(id, outcome); n.schedule(); } },
      peerStreamBroken: (id) => n.onPeerStreamBroken(id),
    };
    await o.transport.start(handler);
    n.tickTimer = setInterval(() => n.tick(), n.opts.tickMs);
    n.schedule();
    return n;
  }

  get id(): NodeId { return this.o.id; }
  get isLeader(): boolean { return this.role === RaftRole.Leader; }
  get leaderId(): NodeId { return this.leader; }
  get appliedIndex(): number { return this.applied; }
  /** The current term (cheap; status() builds a whole report). */
  get currentTerm(): number { return this.term; }
  memberAddress(id: NodeId): string | undefined { return this.members.get(id); }

  /** Proposes `data`; resolves with its log index once applied locally (and the state machine's result). */
  propose(data: Uint8Array): Promise<{ index: number; result: unknown }> {
    if (this.stopped) return Promise.reject(new RaftStoppedError());
    if (this.leader === 0) return Promise.reject(new NotLeaderError(0, undefined));
    const seq = ++this.seq >>> 0;
    const r = this.core.propose(wrapProposal({ node: this.o.id, epoch: this.epoch, seq }, data));
    if (!r.ok) { this.metrics?.proposalsFailed.inc(); return Promise.reject(new ProposalDroppedError(r.detail)); }
    this.schedule();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.failProposal(seq, new RaftTimeoutError('proposal', this.opts.requestTimeoutMs)), this.opts.requestTimeoutMs);
      this.pending.set(seq, { resolve, reject, started: performance.now(), timer });
    });
  }

  /** Resolves when this node has applied everything committed before the call (ReadIndex). */
  linearizableRead(): Promise<void> {
    if (this.stopped) return Promise.reject(new RaftStoppedError());
    if (this.leader === 0) return Promise.reject(new NotLeaderError(0, undefined));
    const p = this.reads.add();
    this.requestReadIndex();
    return p;
  }

  addMember(id: NodeId, address: string, opts: { learner?: boolean } = {}): Promise<void> {
    if (!Number.isSafeInteger(id) || id <= 0) return Promise.reject(new MembershipError(`bad member id ${id}`));
    return this.confChange(opts.learner === true ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id, address);
  }

  promote(id: NodeId): Promise<void> {
    const addr = this.members.get(id);
    if (addr === undefined) return Promise.reject(new MembershipError(`member ${id} is unknown`));
    return this.confChange(ConfChangeType.AddNode, id, addr);
  }

  removeMember(id: NodeId): Promise<void> {
    if (!this.members.has(id)) return Promise.reject(new MembershipError(`member ${id} is unknown`));
    return this.confChange(ConfChangeType.RemoveNode, id, undefined);
  }

  /** Asks the leader (this node) to hand over to `to`; resolves when `to` leads, rejects on timeout. */
  async transferLeadership(to: NodeId): Promise<void> {
    if (!this.isLeader) throw new NotLeaderError(this.leader, this.members.get(this.leader));
    this.core.transferLeader(to);
    this.schedule();
    const deadline = Date.now() + this.opts.requestTimeoutMs;
    while (this.leader !== to) {
      if (this.stopped) throw new RaftStoppedError();
      if (Date.now() > deadline) throw new RaftTimeoutError(`leadership transfer to ${to}`, this.opts.requestTimeoutMs);
      await new Promise((r) => setTimeout(r, this.opts.tickMs / 2));
    }
  }

  /** Campaigns now (tests, operators). */
  campaign(): void { this.core.campaign(); this.schedule(); }

  status(): RaftNodeStatus {
    const learners = new Set(this.confState.learners);
    return {
      id: this.o.id, role: this.role, leader: this.leader, term: this.term, commit: this.commit, applied: this.applied,
      leaderChanges: this.leaderChanges, syncs: this.syncs, snapshotIndex: this.snapshotIndex,
      members: [...this.members].map(([id, address]) => ({ id, address, learner: learners.has(id) })),
      core: this.core.status(),
    };
  }

  /** Stops timers and the transport, fails everything pending, closes the storage. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.tickTimer);
    clearTimeout(this.campaignTimer);
    for (const seq of [...this.pending.keys()]) this.failProposal(seq, new RaftStoppedError());
    this.reads.failAll(new RaftStoppedError());
    await this.o.transport.stop();
    this.o.storage.close();
  }

  // ---- internals ----

  private confChange(type: ConfChangeType, id: NodeId, address: string | undefined): Promise<void> {
    if (this.stopped) return Promise.reject(new RaftStoppedError());
    if (!this.isLeader) return Promise.reject(new NotLeaderError(this.leader, this.members.get(this.leader)));
    const cc: ConfChangeV2 = {
      transition: ConfChangeTransition.Auto, changes: [{ type, nodeId: id }],
      context: address !== undefined ? encodeMemberContext(address) : new Uint8Array(0),
    };
    const r = this.core.proposeConfChange(cc);
    if (!r.ok) return Promise.reject(new ProposalDroppedError(r.detail));
    this.schedule();
    // Wait until the change is applied here (or the leader changes).
    const want = (): boolean => type === ConfChangeType.RemoveNode ? !this.members.has(id)
      : (type === ConfChangeType.AddLearnerNode ? this.confState.learners.includes(id) : this.confState.voters.includes(id));
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + this.opts.requestTimeoutMs;
      const check = (): void => {
        if (want()) { resolve(); return; }
        if (this.stopped) { reject(new RaftStoppedError()); return; }
        if (Date.now() > deadline) { reject(new RaftTimeoutError('membership change', this.opts.requestTimeoutMs)); return; }
        setTimeout(check, 10);
      };
      check();
    });
  }

  private tick(): void {
    if (this.stopped) return;
    this.core.tick();
    this.reads.expire();
    if (this.reads.needsRequest()) this.requestReadIndex();
    this.schedule();
  }

  private onPeerStreamBroken(id: NodeId): void {
    if (this.stopped || !this.opts.fastFailover || id !== this.leader || this.role === RaftRole.Leader) return;
    // The leader's stream broke (it died or its connection did). Forget it so that we — and the other
    // followers, which see the same — grant pre-votes, then campaign after a short delay (below).
    // PreVote + CheckQuorum keep a live leader in place.
    this.core.forgetLeader();
    clearTimeout(this.campaignTimer);
    // Stagger by rank among the remaining voters (lowest id first), so that the survivors rarely
    // campaign together and split the vote (which costs a whole randomized election timeout); if the
    // first one cannot win (its log is behind), the next one follows a tick and a half later.
    const rest = this.confState.voters.filter((v) => v !== id).sort((a, b) => a - b);
    const rank = Math.max(0, rest.indexOf(this.o.id));
    const jitter = Math.max(1, Math.floor(this.opts.tickMs / 2));
    const delay = rank * Math.floor(this.opts.tickMs * 1.5) + (this.o.random !== undefined ? this.o.random(jitter) : randomInt(jitter));
    this.campaignTimer = setTimeout(() => {
      this.campaignTimer = undefined;
      if (this.stopped || this.leader !== 0 && this.leader !== id) return;
      this.core.campaign();
      this.schedule();
    }, delay);
    this.schedule();
  }

  /**
   * Another survivor campaigns while our own fast campaign is still pending. If its log is at least
   * as up to date as ours it will get our vote: stand aside (the election timeout stays as the
   * fallback) rather than split the vote. If ours is ahead, it cannot win with us: campaign now.
   */
  private onCampaignSeen(m: Message): void {
    const st = this.o.storage.storage;
    const lastIndex = st.lastIndex();
    let lastTerm = 0;
    try { lastTerm = st.term(lastIndex); } catch { return; }
    clearTimeout(this.campaignTimer);
    this.campaignTimer = undefined;
    const upToDate = m.logTerm > lastTerm || (m.logTerm === lastTerm && m.index >= lastIndex);
    if (!upToDate && this.leader === 0) {
      this.core.campaign();
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.stopped || this.fatal !== undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.processReady();
    });
  }

  private processReady(): void {
    if (this.processing || this.stopped) return;
    this.processing = true;
    this.readyLoop().then(() => {
      this.processing = false;
      if (!this.stopped && this.core.hasReady()) this.schedule();
    }, (e: unknown) => {
      this.processing = false;
      this.failFatal(e);
    });
  }

  /** Storage or contract failure: the node cannot continue safely. */
  private failFatal(e: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = e instanceof Error ? e : new Error(String(e));
    for (const seq of [...this.pending.keys()]) this.failProposal(seq, new RaftStoppedError());
    this.reads.failAll(new RaftStoppedError());
    clearInterval(this.tickTimer);
    this.o.onFatal?.(this.fatal);
  }

  /**
   * One Ready at a time. Committed entries are applied (and their proposers answered) before this
   * Ready's new entries are persisted, as etcd's server does: they are already durable on a quorum.
   * The fdatasync runs off the event loop, so while it runs the leader's messages (sent before it)
   * go out, inbound messages are stepped and new proposals gather for the next Ready; followers
   * send after it.
   */
  private async readyLoop(): Promise<void> {
    while (!this.stopped && this.core.hasReady()) {
      const rd = this.core.ready();
      if (rd.softState !== undefined) this.onSoftState(rd.softState.role, rd.softState.lead);
      if (rd.hardState !== undefined) {
        this.term = rd.hardState.term;
        this.commit = rd.hardState.commit;
        this.metrics?.term.set(this.term);
        this.metrics?.commit.set(this.commit);
      }
      const leader = this.role === RaftRole.Leader;
      if (leader) this.o.transport.send(rd.messages);
      // A lone entry (light load) is synced on the loop's own thread: the thread-pool round trip
      // costs more than the loop gains meanwhile. Under load (batches), the sync runs off the loop so
      // proposals, acks and answers keep flowing while the disk flushes.
      const inline = rd.entries.length <= 1;
      const batch: PersistBatch = { entries: rd.entries, mustSync: rd.mustSync, syncInline: inline };
      if (rd.hardState !== undefined) batch.hardState = rd.hardState;
      let persisted = false;
      if (rd.snapshot !== undefined) {
        // A snapshot is persisted before the state machine is replaced by it.
        batch.snapshot = rd.snapshot;
        await this.persist(batch);
        if (this.stopped) return;
        persisted = true;
        if (rd.snapshot.metadata.index > this.applied) this.applySnapshot(rd.snapshot);
      }
      for (const e of rd.committedEntries) this.applyEntry(e);
      for (const rs of rd.readStates) this.reads.readState(rs.requestCtx, rs.index);
      this.reads.release(this.applied);
      if (!persisted) {
        // A leader's messages are flushed to the sockets on the next loop turn: let them go before
        // blocking on the disk, so the followers' fsyncs run alongside this one.
        if (inline && leader && rd.mustSync && rd.messages.length > 0) await new Promise<void>((r) => setImmediate(r));
        if (this.stopped) return;
        await this.persist(batch);
        if (this.stopped) return;
      }
      if (!leader) this.o.transport.send(rd.messages);
      this.core.advance();
      this.reads.release(this.applied);
      if (this.reads.needsRequest()) this.requestReadIndex();
      this.maybeSnapshot();
    }
  }

  private async persist(batch: PersistBatch): Promise<void> {
    await this.o.storage.save(batch);
    if (batch.mustSync) { this.syncs++; this.metrics?.fsyncs.inc(); }
  }

  private onSoftState(role: Role, lead: NodeId): void {
    const wasLeader = this.role === RaftRole.Leader;
    if (lead !== this.leader) {
      if (lead !== 0) { this.leaderChanges++; this.metrics?.leaderChanges.inc(); }
      // Proposals and reads made under another leader may or may not survive: outcome unknown.
      for (const seq of [...this.pending.keys()]) this.failProposal(seq, new LeadershipLostError(lead));
      this.reads.failAll(new LeadershipLostError(lead));
    } else if (wasLeader && role !== RaftRole.Leader) {
      for (const seq of [...this.pending.keys()]) this.failProposal(seq, new LeadershipLostError(lead));
      this.reads.failAll(new LeadershipLostError(lead));
    }
    this.role = role;
    this.leader = lead;
    this.metrics?.isLeader.set(role === RaftRole.Leader ? 1 : 0);
  }

  private applySnapshot(s: Snapshot): void {
    const { members, app } = unwrapSnapshot(s.data);
    this.o.stateMachine.restore(app);
    this.members.clear();
    for (const [id, addr] of members) this.members.set(id, addr);
    this.syncPeers();
    this.confState = s.metadata.confState;
    this.applied = s.metadata.index;
    this.snapshotIndex = s.metadata.index;
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.applied) return;
    if (e.type === EntryType.ConfChange) {
      const cc = this.o.core.decodeConfChange(e.data);
      const before = new Set([...this.confState.voters, ...this.confState.learners, ...this.confState.votersOutgoing]);
      this.confState = this.core.applyConfChange(cc);
      let joined = false;
      for (const ch of cc.changes) {
        if (ch.type === ConfChangeType.RemoveNode) this.members.delete(ch.nodeId);
        else {
          if (!before.has(ch.nodeId)) joined = true;
          const addr = decodeMemberContext(cc.context);
          if (addr !== undefined) this.members.set(ch.nodeId, addr);
        }
      }
      this.syncPeers();
      this.applied = e.index;
      if (joined) this.snapshotForJoiner();
    } else {
      const w = unwrapProposal(e.data);
      if (w !== undefined) {
        const result = this.o.stateMachine.apply(w.payload, e.index);
        if (w.id.node === this.o.id && w.id.epoch === this.epoch) {
          const p = this.pending.get(w.id.seq);
          if (p !== undefined) {
            this.pending.delete(w.id.seq);
            clearTimeout(p.timer);
            this.metrics?.proposalsApplied.inc();
            this.metrics?.proposalSeconds.observe((performance.now() - p.started) / 1000);
            p.resolve({ index: e.index, result });
          }
        }
      }
    }
    this.applied = e.index;
    this.metrics?.applied.set(e.index);
  }

  /** Makes the transport's peers match the member list. */
  private syncPeers(): void {
    for (const [id, addr] of this.members) {
      if (id === this.o.id || addr === '' || this.peers.get(id) === addr) continue;
      this.o.transport.addPeer(id, addr);
      this.peers.set(id, addr);
    }
    for (const id of [...this.peers.keys()]) {
      if (this.members.has(id)) continue;
      this.o.transport.removePeer(id);
      this.peers.delete(id);
    }
  }

  private maybeSnapshot(): void {
    if (this.snapshotting || this.applied - this.snapshotIndex < this.opts.snapshotInterval) return;
    const st = this.o.storage;
    if (st.createSnapshotAsync === undefined) this.takeSnapshot();
    else {
      // The state is captured now (consistent at `applied`); the file reaches the disk in the
      // background, so a large snapshot does not stall replication and proposals meanwhile.
      const data = wrapSnapshot(this.members, this.o.stateMachine.snapshot());
      this.snapshotting = true;
      st.createSnapshotAsync(this.applied, this.confState, data).then(() => { this.snapshotting = false; }, (e: unknown) => {
        this.snapshotting = false;
        if (!this.stopped) this.failFatal(e);
      });
      this.snapshotIndex = this.applied;
      this.metrics?.snapshots.inc();
    }
    const keepFrom = this.applied - this.opts.keepEntries;
    if (keepFrom > st.storage.firstIndex()) st.compact(keepFrom);
  }

  private takeSnapshot(): void {
    const data = wrapSnapshot(this.members, this.o.stateMachine.snapshot());
    this.o.storage.createSnapshot(this.applied, this.confState, data);
    this.snapshotIndex = this.applied;
    this.metrics?.snapshots.inc();
  }

  /**
   * A joining member starts from a snapshot (its log is empty), and a snapshot whose configuration
   * does not name it is refused by the core. So every member, on applying the change that adds a new
   * id, snapshots at once (the configuration then includes the joiner, and the data carries every
   * member's address); while the log still starts at index 1 it also drops the first entry, so the
   * joiner gets this snapshot instead of the address-less bootstrap configuration at index 0. Done by
   * every member, so a later leader has such a snapshot too.
   */
  private snapshotForJoiner(): void {
    this.takeSnapshot();
    if (this.o.storage.storage.firstIndex() <= 1 && this.applied >= 2) this.o.storage.compact(2);
  }

  private requestReadIndex(): void {
    const ctx = this.reads.nextRequest();
    if (ctx === undefined) return;
    const r = this.core.readIndexWithResult(ctx);
    if (!r.ok) this.reads.failRequest(ctx, new NotLeaderError(this.leader, this.members.get(this.leader)));
    this.schedule();
  }

  private failProposal(seq: number, e: RaftNodeError): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    this.metrics?.proposalsFailed.inc();
    p.reject(e);
  }
}

