// In-memory Storage (etcd-io/raft storage.go MemoryStorage): ents[0] is a dummy entry at the
// snapshot's index and term, so the term of the entry before firstIndex() stays known.

import { limitSize } from './limit-size.js';
import {
  CompactedError, EMPTY_HARD_STATE, EntryType, UnavailableError,
  type ConfState, type Entry, type HardState, type NodeId, type Snapshot, type Storage,
} from './types.js';

export class SnapshotOutOfDateError extends Error {
  constructor() { super('requested index is older than the existing snapshot'); this.name = 'SnapshotOutOfDateError'; }
}

export class StorageRangeError extends Error {
  constructor(message: string) { super(`memory storage: ${message}`); this.name = 'StorageRangeError'; }
}

const EMPTY = new Uint8Array(0);

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function cloneConfState(cs: ConfState): ConfState {
  return {
    voters: [...cs.voters], learners: [...cs.learners], votersOutgoing: [...cs.votersOutgoing],
    learnersNext: [...cs.learnersNext], autoLeave: cs.autoLeave,
  };
}

export class MemoryStorage implements Storage {
  private hs: HardState = { ...EMPTY_HARD_STATE };
  private snap: Snapshot = { data: EMPTY, metadata: { confState: emptyConfState(), index: 0, term: 0 } };
  private ents: Entry[] = [{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY }];

  /** A new cluster's initial state: a ConfState with these members at index 0. */
  static bootstrap(voters: NodeId[], learners: NodeId[] = []): MemoryStorage {
    const ms = new MemoryStorage();
    const cs = emptyConfState();
    cs.voters = [...voters].sort((a, b) => a - b);
    cs.learners = [...learners].sort((a, b) => a - b);
    for (const id of cs.learners) if (cs.voters.includes(id)) throw new StorageRangeError(`${id} is both voter and learner`);
    ms.snap = { data: EMPTY, metadata: { confState: cs, index: 0, term: 0 } };
    return ms;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hs }, confState: cloneConfState(this.snap.metadata.confState) };
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new StorageRangeError(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.ents.length === 1) throw new UnavailableError();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new CompactedError();
    if (i - offset >= this.ents.length) throw new UnavailableError();
    return (this.ents[i - offset] as Entry).term;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces everything with the snapshot; throws if it is older than the current one. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index < this.snap.metadata.index) throw new SnapshotOutOfDateError();
    this.snap = { data: snap.data, metadata: { ...snap.metadata, confState: cloneConfState(snap.metadata.confState) } };
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: EntryType.Normal, data: EMPTY }];
  }

  /** Records a snapshot at `index` (which must be in the log) for sending to lagging followers. */
  createSnapshot(index: number, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    if (index > this.lastIndex()) throw new StorageRangeError(`snapshot ${index} is out of bound lastindex(${this.lastIndex()})`);
    const term = (this.ents[index - this.offset()] as Entry).term;
    const confState = cs ? cloneConfState(cs) : cloneConfState(this.snap.metadata.confState);
    this.snap = { data, metadata: { index, term, confState } };
    return this.snap;
  }

  /** Drops entries before `index`; the entry at `index` becomes the dummy. */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) throw new CompactedError();
    if (index > this.lastIndex()) throw new StorageRangeError(`compact ${index} is out of bound lastindex(${this.lastIndex()})`);
    const i = index - offset;
    const dummy: Entry = { index, term: (this.ents[i] as Entry).term, type: EntryType.Normal, data: EMPTY };
    this.ents = [dummy, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, truncating any existing suffix they overlap. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = (entries[entries.length - 1] as Entry).index;
    if (last < first) return;
    let ents = entries;
    const e0 = (ents[0] as Entry).index;
    if (first > e0) ents = ents.slice(first - e0);
    const off = (ents[0] as Entry).index - this.offset();
    if (this.ents.length > off) {
      this.ents = this.ents.slice(0, off).concat(ents);
    } else if (this.ents.length === off) {
      for (const e of ents) this.ents.push(e);
    } else {
      throw new StorageRangeError(`missing log entry [last: ${this.lastIndex()}, append at: ${(ents[0] as Entry).index}]`);
    }
  }
}
