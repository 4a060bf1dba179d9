// One simulated Raft node: a RawNode, its simulated disk (a MemoryStorage that receives exactly what
// the Ready contract says to persist: hard state, entries, snapshot) and its KV application. A crash
// throws away the RawNode, the application and every pending client request; a restart rebuilds them
// from the disk alone.

import { RawNode } from '../../manager/raft/core/raw-node.js';
import { MemoryStorage } from '../../manager/raft/core/memory-storage.js';
import { decodeConfChange } from '../../manager/raft/core/conf-change-codec.js';
import {
  EntryType, MessageType, seededRandom,
  type ConfChangeV2, type ConfState, type Message, type NodeId, type RaftRole, type RandomInt, type Ready, type Snapshot,
} from '../../manager/raft/core/types.js';
import type { KvOutput } from '../lin/kv-model.js';
import { decodeCommand, KvApp } from './kv-app.js';
import type { EventQueue } from './event-queue.js';
import type { SimNetwork } from './sim-network.js';
import { InvariantViolation, type SafetyMonitor } from './safety-monitor.js';

/**
 * Deliberate bugs, to prove the invariant checks catch a broken node:
 *  - forget-vote: the vote in the hard state is never persisted (a restarted node may vote again);
 *  - lose-acked-entries: appends are acknowledged but not durable — a crash loses the last
 *    LOST_ON_CRASH entries above the snapshot (and the commit index is clipped to what is left);
 *  - local-reads: a get is answered from the node's own state at once, without ReadIndex (a deposed
 *    leader or a lagging follower answers with old values);
 *  - advance-before-fsync: in a pipelined driver mode, advance() is called before the fsync completes
 *    (the Ready order broken), so acks and votes for unpersisted state go out in the next Ready.
 */
export type Breakage = 'none' | 'forget-vote' | 'lose-acked-entries' | 'local-reads' | 'advance-before-fsync';
export const BREAKAGES: readonly Breakage[] = ['none', 'forget-vote', 'lose-acked-entries', 'local-reads', 'advance-before-fsync'];
const LOST_ON_CRASH = 3;

export interface NodeEnv {
  q: EventQueue;
  net: SimNetwork;
  monitor: SafetyMonitor;
  seed: number;
  checkQuorum: boolean;
  preVote: boolean;
  stepDownOnRemoval: boolean;
  /** Flow-control settings of every node in the run. */
  flow: FlowSettings;
  electionTick: number;
  /** Compact when more than this many applied entries sit on disk; keep `keepEntries` of them. */
  snapshotEvery: number;
  keepEntries: number;
  breakage: Breakage;
  /** When a Ready's messages go out and its committed entries apply relative to its fsync. */
  driver: DriverMode;
  /** The longest simulated fsync in the pipelined modes. */
  fsyncDelay: number;
  rnd: RandomInt;
  trace: ((line: string) => void) | undefined;
  onConfApplied(node: SimNode, cc: ConfChangeV2, cs: ConfState): void;
  /** Marks a node as changed by the current event: the driver processes its Ready and checks it. */
  touch(node: SimNode): void;
  stats: { snapshotsSent: number; snapshotsApplied: number; compactions: number; readiesLost: number };
}

export interface PendingWrite {
  complete(out: KvOutput): void;
  abandon(): void;
}

export interface PendingRead {
  key: string;
  index: number | null;
  complete(value: string | null): void;
  abandon(): void;
}

/**
 * sync: persist → send → apply → advance, with nothing in between (the contract's order);
 * leader-first: as manager/raft/raft-node.ts — a leader sends before its fsync, every node applies
 *   committed entries before it, and followers send after it;
 * all-first: every node sends and applies before its fsync (the core says this is safe: messages that
 *   vouch for durable state only leave in the Ready after the advance() that confirmed it).
 */
export type DriverMode = 'sync' | 'leader-first' | 'all-first';
export const DRIVER_MODES: readonly DriverMode[] = ['sync', 'leader-first', 'all-first'];

export const MAX_INFLIGHT_MSGS = 16;

export interface FlowSettings {
  /** 1..MAX_INFLIGHT_MSGS */
  maxInflightMsgs: number;
  /** 0 = one entry per MsgApp. */
  maxSizePerMsg: number;
  /** 0 = no byte limit. */
  maxInflightBytes: number;
  /** 0 = no limit on the leader's uncommitted bytes. */
  maxUncommittedEntriesSize: number;
}

/** The seed's flow-control settings: small windows and messages exercise probe/replicate/pause paths. */
export function randomFlow(rnd: RandomInt): FlowSettings {
  const maxSizePerMsg = [0, 200, 1024, 65536][rnd(4)]!;
  return {
    maxInflightMsgs: 1 + rnd(MAX_INFLIGHT_MSGS),
    maxSizePerMsg,
    maxInflightBytes: rnd(3) === 0 ? Math.max(maxSizePerMsg, 256) * (1 + rnd(4)) : 0,
    maxUncommittedEntriesSize: rnd(3) === 0 ? 300 + rnd(2000) : 0,
  };
}
const enc = new TextEncoder();
const dec = new TextDecoder();

export class SimNode {
  raw: RawNode | null = null;
  app = new KvApp();
  applied = 0;
  confState: ConfState;
  incarnation = 0;
  role: RaftRole = 'follower';
  /** The process is paused (a GC pause, SIGSTOP) until this virtual time: it keeps its state but does nothing. */
  pausedUntil = 0;
  private writes = new Map<string, PendingWrite>();
  private reads = new Map<string, PendingRead>();
  /** Readies handed out and not yet persisted (pipelined driver modes only; more than one only when broken). */
  private pending = 0;
  /** When the last scheduled fsync completes: fsyncs complete in order. */
  private fsyncAt = 0;

  constructor(readonly id: NodeId, public disk: MemoryStorage, private readonly env: NodeEnv) {
    this.confState = disk.initialState().confState;
  }

  get up(): boolean {
    return this.raw !== null;
  }

  isPaused(now: number): boolean {
    return this.pausedUntil > now;
  }

  start(): void {
    const snap = this.disk.snapshot();
    this.incarnation++;
    this.pausedUntil = 0;
    this.app = KvApp.restore(snap.data);
    this.applied = snap.metadata.index;
    this.confState = this.disk.initialState().confState;
    this.role = 'follower';
    this.raw = new RawNode({
      id: this.id,
      electionTick: this.env.electionTick,
      heartbeatTick: 1,
      storage: this.disk,
      applied: this.applied,
      maxSizePerMsg: this.env.flow.maxSizePerMsg,
      maxInflightMsgs: this.env.flow.maxInflightMsgs,
      maxInflightBytes: this.env.flow.maxInflightBytes,
      maxUncommittedEntriesSize: this.env.flow.maxUncommittedEntriesSize,
      checkQuorum: this.env.checkQuorum,
      preVote: this.env.preVote,
      stepDownOnRemoval: this.env.stepDownOnRemoval,
      random: seededRandom((this.env.seed * 7919 + this.id * 104729 + this.incarnation * 15485863) >>> 0),
    });
  }

  crash(): void {
    if (this.raw !== null && this.env.breakage === 'lose-acked-entries') this.loseTail(LOST_ON_CRASH);
    this.raw = null;
    this.env.stats.readiesLost += this.pending;
    this.pending = 0;
    this.app = new KvApp();
    this.role = 'follower';
    for (const w of this.writes.values()) w.abandon();
    for (const r of this.reads.values()) r.abandon();
    this.writes.clear();
    this.reads.clear();
  }

  /** The disk as it would be if its last `n` appends above the snapshot were never made durable. */
  private loseTail(n: number): void {
    const d = this.disk;
    const snap = d.snapshot();
    const hs = d.hardState();
    const keepTo = Math.max(snap.metadata.index, d.lastIndex() - n);
    const kept = keepTo > snap.metadata.index ? d.entries(snap.metadata.index + 1, keepTo + 1, Number.MAX_SAFE_INTEGER) : [];
    const rebuilt = new MemoryStorage();
    rebuilt.applySnapshot(snap);
    rebuilt.append(kept);
    rebuilt.setHardState({ ...hs, commit: Math.min(hs.commit, keepTo) });
    this.disk = rebuilt;
  }

  addWrite(key: string, w: PendingWrite): void {
    this.writes.set(key, w);
  }

  dropWrite(key: string): void {
    this.writes.delete(key);
  }

  addRead(ctx: string, r: PendingRead): void {
    this.reads.set(ctx, r);
  }

  dropRead(ctx: string): void {
    this.reads.delete(ctx);
  }

  /** Handles every Ready the node has, in the order of this run's driver mode. */
  process(): void {
    const broken = this.env.breakage === 'advance-before-fsync';
    while (this.raw !== null && (this.pending === 0 || broken) && this.raw.hasReady()) this.handleReady(this.raw, this.raw.ready());
  }

  /**
   * One Ready. `sync` (the contract's order): persist → send → apply → advance, at once. The
   * pipelined modes are what a real driver does (manager/raft/raft-node.ts for `leader-first`): send
   * (all nodes, or only a leader) and apply committed entries first, then the fsync completes after a
   * delay; meanwhile the node keeps stepping messages and ticks, and a crash loses the unpersisted
   * Ready. A Ready that carries a snapshot is persisted before it is applied, in every mode.
   */
  private handleReady(raw: RawNode, rd: Ready): void {
    const env = this.env;
    const leaderTerm = this.role === 'leader' ? this.disk.hardState().term : 0;
    if (rd.softState) this.role = rd.softState.role;
    if (env.trace && (rd.softState || rd.hardState || rd.entries.length || rd.committedEntries.length || rd.snapshot)) {
      env.trace(`  n${this.id} ready: ${rd.softState ? `role=${rd.softState.role} lead=${rd.softState.lead} ` : ''}` +
        `${rd.hardState ? `hs=${rd.hardState.term}/${rd.hardState.vote}/${rd.hardState.commit} ` : ''}` +
        `entries=${rd.entries.map((e) => `${e.index}@${e.term}`).join(',')} committed=${rd.committedEntries.length}` +
        `${rd.snapshot ? ` snapshot=${rd.snapshot.metadata.index}@${rd.snapshot.metadata.term}` : ''} msgs=${rd.messages.length}`);
    }
    const inc = this.incarnation;
    const pipelined = env.driver !== 'sync' && rd.snapshot === undefined;
    if (!pipelined) {
      this.persist(rd, leaderTerm);
      for (const m of rd.messages) this.send(m, inc);
      this.apply(raw, rd);
      this.finish(raw);
      return;
    }
    const sendFirst = env.driver === 'all-first' || this.role === 'leader';
    if (sendFirst) for (const m of rd.messages) this.send(m, inc);
    this.apply(raw, rd);
    this.pending++;
    const broken = env.breakage === 'advance-before-fsync';
    if (broken) this.finish(raw);
    this.fsyncAt = Math.max(this.fsyncAt, env.q.now + 1 + env.rnd(env.fsyncDelay));
    const fsyncDone = (): void => {
      if (this.raw !== raw || this.incarnation !== inc) return; // crashed meanwhile: the Ready is lost
      if (this.isPaused(env.q.now)) { env.q.at(this.pausedUntil, `fsync n${this.id} (after a pause)`, fsyncDone); return; }
      this.pending--;
      this.persist(rd, leaderTerm);
      if (!sendFirst) for (const m of rd.messages) this.send(m, inc);
      if (!broken) this.finish(raw);
      env.touch(this);
    };
    env.q.at(this.fsyncAt, `fsync n${this.id}`, fsyncDone);
  }

  /** Writes a Ready's snapshot, entries and hard state to the simulated disk (checked first). */
  private persist(rd: Ready, leaderTerm: number): void {
    const env = this.env;
    // A snapshot at index 0 is a joining node's bootstrap membership: it is persisted like any other
    // (a restart must know the membership), but there is no application state in it to restore.
    const snap = rd.snapshot;
    env.monitor.checkPersist(this.id, this.disk, leaderTerm, { hardState: rd.hardState, entries: rd.entries, snapshot: snap });
    // A vote counts from the moment it is durable (as the node believes: forget-vote is still caught)
    // or granted on the wire (send); a Ready lost in a crash before its fsync cast no vote.
    if (rd.hardState) env.monitor.checkVote(this.id, rd.hardState.term, rd.hardState.vote);
    if (snap) this.disk.applySnapshot(snap);
    if (rd.entries.length > 0) this.disk.append(rd.entries);
    if (rd.hardState) {
      const hs = env.breakage === 'forget-vote' ? { ...rd.hardState, vote: 0 } : rd.hardState;
      this.disk.setHardState(hs);
    }
    env.monitor.checkDisk(this.id, this.disk);
  }

  /** Applies a Ready's snapshot and committed entries to the KV application; collects read states. */
  private apply(raw: RawNode, rd: Ready): void {
    const env = this.env;
    if (rd.snapshot) this.applySnapshot(rd.snapshot);
    for (const e of rd.committedEntries) {
      if (e.index !== this.applied + 1) {
        throw new InvariantViolation('apply in order', `node ${this.id} applies ${e.index} after ${this.applied}`);
      }
      env.monitor.checkApply(this.id, e);
      this.applied = e.index;
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        this.confState = raw.applyConfChange(cc);
        env.onConfApplied(this, cc, this.confState);
      } else if (e.data.length > 0) {
        const cmd = decodeCommand(e.data);
        const out = this.app.apply(cmd);
        const key = `${cmd.client}:${cmd.seq}`;
        const w = this.writes.get(key);
        if (w && out) {
          this.writes.delete(key);
          w.complete(out);
        }
      }
    }
    for (const rs of rd.readStates) {
      const r = this.reads.get(dec.decode(rs.requestCtx));
      if (r && r.index === null) r.index = rs.index;
    }
    this.serveReads();
  }

  private finish(raw: RawNode): void {
    raw.advance();
    this.serveReads();
    this.maybeCompact();
  }

  private send(m: Message, inc: number): void {
    if (m.type === MessageType.VoteResp && !m.reject) this.env.monitor.checkVote(this.id, m.term, m.to);
    if (m.type === MessageType.Snap) this.env.stats.snapshotsSent++;
    this.env.net.send(m, (o) => {
      if (this.raw === null || this.incarnation !== inc) return;
      if (m.type === MessageType.Snap) this.raw.reportSnapshot(m.to, o === 'delivered' ? 'finish' : 'failure');
      if (o === 'cut') this.raw.reportUnreachable(m.to);
      this.env.touch(this);
    });
  }

  private applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index === 0 && this.applied === 0) {
      this.confState = snap.metadata.confState;
      return;
    }
    if (snap.metadata.index <= this.applied) {
      throw new InvariantViolation('snapshot moves forward', `node ${this.id} gets snapshot ${snap.metadata.index} at applied ${this.applied}`);
    }
    this.app = KvApp.restore(snap.data);
    this.applied = snap.metadata.index;
    this.confState = snap.metadata.confState;
    this.env.stats.snapshotsApplied++;
  }

  private serveReads(): void {
    for (const [ctx, r] of this.reads) {
      if (r.index !== null && r.index <= this.applied) {
        this.reads.delete(ctx);
        r.complete(this.app.get(r.key));
      }
    }
  }

  private maybeCompact(): void {
    if (this.applied > this.disk.lastIndex()) return; // applied ahead of the fsync (broken driver)
    const first = this.disk.firstIndex();
    if (this.applied - first + 1 <= this.env.snapshotEvery) return;
    if (this.applied <= this.disk.snapshot().metadata.index) return;
    this.disk.createSnapshot(this.applied, this.confState, this.app.serialize());
    const to = this.applied - this.env.keepEntries;
    if (to > first) this.disk.compact(to);
    this.env.stats.compactions++;
  }

  /** Starts a ReadIndex round for a get; the context names the request. */
  readIndex(ctx: string): void {
    this.raw?.readIndex(enc.encode(ctx));
  }
}
