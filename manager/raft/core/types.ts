// The data types of the Raft core: entries, messages, hard and soft state, snapshots, configuration
// changes and the Ready batch. Everything here is plain data; the core imports nothing from `node:*`.
//
// Node IDs are positive integers below 2^53 (0 means "none"); terms and indexes are numbers too.

export type NodeId = number;
export const NONE: NodeId = 0;

export const EntryType = {
  Normal: 0,
  ConfChange: 1, // data is an encoded ConfChangeV2 (we only use the V2 form)
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export const MessageType = {
  // local only (never on the wire)
  Hup: 0,
  Beat: 1,
  Prop: 2, // also on the wire: a follower forwards proposals to the leader
  CheckQuorum: 3,
  Unreachable: 4,
  SnapStatus: 5,
  // wire
  App: 10,
  AppResp: 11,
  Vote: 12,
  VoteResp: 13,
  Snap: 14,
  Heartbeat: 15,
  HeartbeatResp: 16,
  TransferLeader: 17,
  TimeoutNow: 18,
  ReadIndex: 19,
  ReadIndexResp: 20,
  PreVote: 21,
  PreVoteResp: 22,
  ForgetLeader: 23,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** True for message types that exist only inside one node and must never be sent. */
export function isLocalMessage(t: MessageType): boolean {
  return t === MessageType.Hup || t === MessageType.Beat || t === MessageType.CheckQuorum ||
    t === MessageType.Unreachable || t === MessageType.SnapStatus;
}

export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: NONE, commit: 0 });

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[]; // non-empty only in a joint configuration
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  /** Snapshot carried by MsgSnap; absent otherwise. */
  snapshot?: Snapshot;
  reject: boolean;
  rejectHint: number;
  /** Opaque: ReadIndex request context, or "campaign-transfer" for votes caused by a leader transfer. */
  context: Uint8Array;
}

export const RaftRole = {
  Follower: 'follower',
  Candidate: 'candidate',
  Leader: 'leader',
  PreCandidate: 'pre-candidate',
} as const;
export type RaftRole = (typeof RaftRole)[keyof typeof RaftRole];

export interface SoftState {
  lead: NodeId;
  role: RaftRole;
}

export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export const ConfChangeType = {
  AddNode: 0,
  RemoveNode: 1,
  UpdateNode: 2,
  AddLearnerNode: 3,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export const ConfChangeTransition = {
  Auto: 0,
  JointImplicit: 1,
  JointExplicit: 2,
} as const;
export type ConfChangeTransition = (typeof ConfChangeTransition)[keyof typeof ConfChangeTransition];

export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: NodeId;
}

/** A configuration change. Empty `changes` means "leave the joint configuration". */
export interface ConfChangeV2 {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  /** Opaque to raft: the application stores e.g. the new member's address here. */
  context: Uint8Array;
}

/**
 * What the application must do, in this order:
 *  1. persist `hardState`, `entries` and `snapshot` (fsync when `mustSync`);
 *  2. send `messages`;
 *  3. apply `snapshot`, then `committedEntries` (calling applyConfChange for conf-change entries);
 *  4. call `advance()`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  mustSync: boolean;
}

export const ProgressState = {
  Probe: 'probe',
  Replicate: 'replicate',
  Snapshot: 'snapshot',
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  pendingSnapshot: number;
  inflight: number;
}

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  leadTransferee: NodeId;
  config: ConfState;
  /** Only on the leader. */
  progress?: Map<NodeId, ProgressStatus>;
}

/** Tagged results for operations the protocol may refuse (Go's ErrProposalDropped and friends). */
export type ProposeResult =
  | { ok: true }
  | { ok: false; reason: 'dropped'; detail: string };

/** Storage errors, as values. */
export class CompactedError extends Error {
  constructor() { super('requested index is unavailable due to compaction'); this.name = 'CompactedError'; }
}
export class UnavailableError extends Error {
  constructor() { super('requested entry at index is unavailable'); this.name = 'UnavailableError'; }
}
export class SnapshotTemporarilyUnavailableError extends Error {
  constructor() { super('snapshot is temporarily unavailable'); this.name = 'SnapshotTemporarilyUnavailableError'; }
}

/** Synchronous read access to what has been persisted (etcd's Storage). */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxSize bytes but always at least one. Throws CompactedError / UnavailableError. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry i, valid for [firstIndex()-1, lastIndex()]. Throws CompactedError / UnavailableError. */
  term(i: number): number;
  lastIndex(): number;
  firstIndex(): number;
  snapshot(): Snapshot;
}

/** A seeded source of randomness, injected into the core. Returns an integer in [0, n). */
export type RandomInt = (n: number) => number;

export interface RaftConfig {
  id: NodeId;
  electionTick: number;
  heartbeatTick: number;
  storage: Storage;
  /** Last applied index, on restart. */
  applied?: number;
  /** Max bytes of entries per MsgApp (0 = one entry). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Max bytes of committed entries per Ready. Default maxSizePerMsg. */
  maxCommittedSizePerReady?: number;
  /** Bound on the bytes of uncommitted entries on the leader; 0 = none. */
  maxUncommittedEntriesSize?: number;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  readOnlyOption?: 'safe' | 'lease-based';
  disableProposalForwarding?: boolean;
  stepDownOnRemoval?: boolean;
  random: RandomInt;
  /** Optional debug logger; the core never logs otherwise. */
  logger?: (line: string) => void;
}

/** Creates a seeded PRNG (mulberry32) usable as RaftConfig.random. */
export function seededRandom(seed: number): RandomInt {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(r * n);
  };
}
