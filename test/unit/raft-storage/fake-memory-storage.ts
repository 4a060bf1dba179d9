// A small stand-in for the core's MemoryStorage (etcd's semantics: ents[0] is a dummy at the snapshot
// index), used while manager/raft/core/memory-storage.ts has not landed. Same public shape.
import type { ConfState, Entry, HardState, NodeId, Snapshot } from '../../../manager/raft/core/types.js';
import { CompactedError, EMPTY_HARD_STATE, UnavailableError } from '../../../manager/raft/core/types.js';
import type { MemoryStorageLike } from '../../../manager/raft/disk-storage.js';

const emptyCs = (): ConfState => ({ voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });

export class FakeMemoryStorage implements MemoryStorageLike {
  private hs: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: emptyCs() } };
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  static bootstrap(voters: NodeId[], learners: NodeId[] = []): FakeMemoryStorage {
    const m = new FakeMemoryStorage();
    m.snap.metadata.confState = { ...emptyCs(), voters: [...voters], learners: [...learners] };
    return m;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hs, confState: this.snap.metadata.confState };
  }

  hardState(): HardState {
    return this.hs;
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    if (i < this.offset()) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    return this.ents[i - this.offset()]!.term;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo <= this.offset()) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError();
    const out = this.ents.slice(lo - this.offset(), hi - this.offset());
    let size = 0;
    for (let k = 0; k < out.length; k++) {
      size += out[k]!.data.length + 16;
      if (k > 0 && size > maxSize) return out.slice(0, k);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  applySnapshot(s: Snapshot): void {
    if (s.metadata.index <= this.snap.metadata.index) throw new Error('snapshot out of date');
    this.snap = s;
    this.ents = [{ term: s.metadata.term, index: s.metadata.index, type: 0, data: new Uint8Array(0) }];
  }

  createSnapshot(index: number, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) throw new Error('snapshot out of date');
    if (index > this.lastIndex()) throw new Error(`snapshot ${index} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { data, metadata: { index, term: this.term(index), confState: cs ?? this.snap.metadata.confState } };
    return this.snap;
  }

  compact(index: number): void {
    if (index <= this.offset()) throw new CompactedError();
    if (index > this.lastIndex()) throw new Error(`compact ${index} is out of bound lastindex(${this.lastIndex()})`);
    const e = this.ents[index - this.offset()]!;
    this.ents = [{ term: e.term, index: e.index, type: 0, data: new Uint8Array(0) }, ...this.ents.slice(index - this.offset() + 1)];
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const es = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const at = es[0]!.index - this.offset();
    if (at > this.ents.length) throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${es[0]!.index}]`);
    this.ents = [...this.ents.slice(0, at), ...es];
  }
}
