// A synchronous in-process network of RawNodes over MemoryStorage for scenario tests: deliver until
// quiescent, drop/cut/isolate/ignore/recover, message hooks. Each Ready is handled in the contract
// order (persist -> send -> apply -> advance) and a durability checker verifies, for every message a
// node sends, that the state it vouches for (appended entries, its vote) is already persisted.

import { decodeConfChange } from '../../../manager/raft/core/conf-change-codec.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { RawNode } from '../../../manager/raft/core/raw-node.js';
import {
  EntryType, MessageType, RaftRole, seededRandom,
  type ConfState, type Entry, type Message, type NodeId, type RaftConfig, type Ready, type Snapshot,
} from '../../../manager/raft/core/types.js';

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export interface TestNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  /** Data of applied normal entries (non-empty), in order. */
  applied: Entry[];
  /** Every committed entry applied, including empty ones and conf changes. */
  appliedAll: Entry[];
  confState: ConfState | undefined;
  readStates: { index: number; ctx: string }[];
  readies: Ready[];
}

export class DurabilityViolation extends Error {
  constructor(message: string) { super(message); this.name = 'DurabilityViolation'; }
}

export interface NetworkOptions {
  seed?: number;
  /** Broken driver for tests: skip persisting entries and hard state (the checker must catch it). */
  skipPersist?: boolean;
  /** Driver that sends a Ready's messages before persisting it (etcd's leader optimisation, for everyone). */
  sendBeforePersist?: boolean;
}

const dec = new TextDecoder();
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private cuts = new Set<string>();
  private dropRates = new Map<string, number>();
  private ignored = new Set<MessageType>();
  private readonly rand: (n: number) => number;
  /** Return false to drop a message. */
  msgHook: ((m: Message) => boolean) | undefined;
  /** Every message delivered (after filters), for assertions. */
  readonly delivered: Message[] = [];

  constructor(ids: NodeId[], readonly opts: NodeOptions = {}, private readonly netOpts: NetworkOptions = {}) {
    this.rand = seededRandom(netOpts.seed ?? 1);
    for (const id of ids) this.addNode(id, MemoryStorage.bootstrap(ids), opts);
  }

  /** Adds (or replaces, e.g. to restart) a node over the given storage. */
  addNode(id: NodeId, storage: MemoryStorage, opts: NodeOptions = this.opts, applied?: number): TestNode {
    const cfg: RaftConfig = {
      electionTick: 10, heartbeatTick: 1, maxSizePerMsg: 1024 * 1024, maxInflightMsgs: 256,
      ...opts, id, storage, random: seededRandom(id * 7919 + (this.netOpts.seed ?? 1)),
    };
    if (applied !== undefined) cfg.applied = applied;
    const n: TestNode = {
      id, rn: new RawNode(cfg), storage, applied: [], appliedAll: [], confState: undefined, readStates: [], readies: [],
    };
    this.nodes.set(id, n);
    return n;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  // --- faults ---
  cut(a: NodeId, b: NodeId): void { this.cuts.add(`${a}>${b}`); this.cuts.add(`${b}>${a}`); }
  drop(from: NodeId, to: NodeId, rate: number): void { this.dropRates.set(`${from}>${to}`, rate); }
  isolate(id: NodeId): void { for (const o of this.nodes.keys()) if (o !== id) this.cut(id, o); }
  ignore(t: MessageType): void { this.ignored.add(t); }
  recover(): void { this.cuts.clear(); this.dropRates.clear(); this.ignored.clear(); }

  private passes(m: Message): boolean {
    if (this.cuts.has(`${m.from}>${m.to}`)) return false;
    if (this.ignored.has(m.type)) return false;
    const rate = this.dropRates.get(`${m.from}>${m.to}`);
    if (rate !== undefined && this.rand(1000) < rate * 1000) return false;
    if (this.msgHook && !this.msgHook(m)) return false;
    return this.nodes.has(m.to);
  }

  /** Handles one Ready of node `id` in contract order; returns the messages it sends. */
  processReady(id: NodeId): Message[] {
    const n = this.node(id);
    if (!n.rn.hasReady()) return [];
    const rd = n.rn.ready();
    n.readies.push(rd);
    if (this.netOpts.sendBeforePersist) for (const m of rd.messages) this.checkDurable(n, m);
    // 1. persist
    if (!this.netOpts.skipPersist) {
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
    }
    // 2. send (checked against what is durable)
    for (const m of rd.messages) this.checkDurable(n, m);
    // 3. apply
    if (rd.snapshot) n.confState = rd.snapshot.metadata.confState;
    for (const e of rd.committedEntries) {
      n.appliedAll.push(e);
      if (e.type === EntryType.ConfChange) n.confState = n.rn.applyConfChange(decodeConfChange(e.data));
      else if (e.data.length > 0) n.applied.push(e);
    }
    for (const rs of rd.readStates) n.readStates.push({ index: rs.index, ctx: dec.decode(rs.requestCtx) });
    n.rn.advance();
    return rd.messages;
  }

  private checkDurable(n: TestNode, m: Message): void {
    const hs = n.storage.hardState();
    if (m.type === MessageType.AppResp && !m.reject && m.index > 0) {
      const last = n.storage.lastIndex();
      if (m.index > last) {
        throw new DurabilityViolation(`node ${n.id} acked index ${m.index} to ${m.to} but has only persisted up to ${last}`);
      }
    }
    if (m.type === MessageType.VoteResp && !m.reject) {
      if (hs.term !== m.term || hs.vote !== m.to) {
        throw new DurabilityViolation(`node ${n.id} granted its vote to ${m.to} at term ${m.term} before persisting it (persisted term ${hs.term}, vote ${hs.vote})`);
      }
    }
  }

  /** Delivers messages and processes Readies until nothing moves. Returns the number of rounds. */
  stabilize(initial: Message[] = [], maxRounds = 10_000): number {
    let queue = initial.slice();
    for (let round = 0; round < maxRounds; round++) {
      const next: Message[] = [];
      for (const m of queue) {
        if (!this.passes(m)) continue;
        this.delivered.push(m);
        this.node(m.to).rn.step(m);
      }
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) {
        for (;;) {
          const out = this.processReady(id);
          if (out.length === 0 && !this.node(id).rn.hasReady()) break;
          next.push(...out);
        }
      }
      if (next.length === 0) return round;
      queue = next;
    }
    throw new Error('network did not stabilize');
  }

  send(...msgs: Message[]): void {
    this.stabilize(msgs);
  }

  campaign(id: NodeId): void {
    this.node(id).rn.campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string): ReturnType<RawNode['propose']> {
    const r = this.node(id).rn.propose(enc(data));
    this.stabilize();
    return r;
  }

  /** Ticks every node `n` times, stabilizing after each tick. */
  tick(n: number, ids: NodeId[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.node(id).rn.tick();
      this.stabilize();
    }
  }

  role(id: NodeId): RaftRole { return this.node(id).rn.status().softState.role; }
  term(id: NodeId): number { return this.node(id).rn.status().hardState.term; }
  lead(id: NodeId): NodeId { return this.node(id).rn.status().softState.lead; }
  committed(id: NodeId): number { return this.node(id).rn.status().hardState.commit; }
  leaders(): NodeId[] { return [...this.nodes.keys()].filter((id) => this.role(id) === RaftRole.Leader); }
  appliedData(id: NodeId): string[] { return this.node(id).applied.map((e) => dec.decode(e.data)); }
}

/** A snapshot helper for tests: compacts `id`'s storage at its applied index. */
export function snapshotAndCompact(n: TestNode, data = 'snap'): Snapshot {
  const applied = n.rn.status().applied;
  const snap = n.storage.createSnapshot(applied, n.confState ?? n.rn.status().config, enc(data));
  n.storage.compact(applied);
  return snap;
}

/** A storage for the members `voters` holding entries with the given terms (index 1, 2, …). */
export function storageWithLog(voters: NodeId[], terms: number[], term: number, commit = 0): MemoryStorage {
  const s = MemoryStorage.bootstrap(voters);
  s.append(terms.map((t, i) => ({ index: i + 1, term: t, type: EntryType.Normal, data: enc(`e${i + 1}@${t}`) })));
  s.setHardState({ term, vote: 0, commit });
  return s;
}

/** "index@term" for every entry of a node's log. */
export function logOf(n: TestNode): string {
  const st = n.rn.logState();
  return n.rn.logEntries(st.firstIndex, st.lastIndex + 1).map((e) => `${e.index}@${e.term}`).join(' ');
}
