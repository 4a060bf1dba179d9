// Durable Raft storage: a WAL (wal/) and snapshot files (snap/) under one directory, mirrored into
// the in-memory storage the RawNode reads. Persistence follows etcd's server order for each Ready:
// snapshot file, WAL snapshot marker, WAL save (entries then hard state, fdatasync when mustSync),
// then the memory storage: applySnapshot, setHardState, append.
//
// Layout: <dir>/wal/%016x-%016x.wal (+ next.wal.tmp), <dir>/snap/%016x-%016x.snap.
// On restart the newest intact snapshot the WAL has a marker for is loaded, then the WAL entries
// after it and the last hard state. `save` syncs on the thread pool so the Ready loop's event loop
// stays free while the disk flushes; `saveSync` and the rest work synchronously.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { WalSnapshot } from './codec.js';
import { MemoryStorage } from './core/memory-storage.js';
import type { ConfState, Entry, HardState, NodeId, Snapshot, Storage } from './core/types.js';
import { parseSnapName } from './snap/snap-name.js';
import { Snapshotter } from './snap/snapshotter.js';
import { fsyncDir } from './wal/fs-util.js';
import { entriesAfter } from './wal/reader.js';
import { Wal, type WalRepair } from './wal/wal.js';

/** What DiskStorage needs from the core's MemoryStorage (manager/raft/core/memory-storage.ts). */
export interface MemoryStorageLike extends Storage {
  hardState(): HardState;
  setHardState(hs: HardState): void;
  applySnapshot(snap: Snapshot): void;
  createSnapshot(index: number, cs: ConfState | undefined, data: Uint8Array): unknown;
  compact(index: number): void;
  append(entries: Entry[]): void;
}

/** The MemoryStorage class itself: `new MemoryStorage()` and `MemoryStorage.bootstrap(voters, learners?)`. */
export interface MemoryStorageClass<M extends MemoryStorageLike> {
  new (): M;
  bootstrap(voters: NodeId[], learners?: NodeId[]): M;
}

export interface DiskStorageOptions<M extends MemoryStorageLike = MemoryStorageLike> {
  /** WAL segment size (default 64 MB). */
  segmentBytes?: number;
  /** fsync on (default). `false` only for fast tests: nothing is durable then. */
  fsync?: boolean;
  /** Zero-fill new WAL segments (default true). */
  preallocate?: boolean;
  /** Called after each WAL file sync with its duration in seconds (metrics). */
  onSync?: (seconds: number) => void;
  /** Snapshot files kept (default 3); the WAL is kept back to the oldest of them. */
  keepSnapshots?: number;
  /** The in-memory storage class (default: the core's MemoryStorage). */
  memory?: MemoryStorageClass<M>;
  /**
   * Test hook: called between the persistence steps of save/createSnapshot. Throwing from it
   * simulates a crash at that point (the tests then reopen the directory).
   */
  crashPoint?: (step: PersistStep) => void;
  /** Told about repairs and set-aside files found on open (a torn WAL tail, a corrupt snapshot). */
  onRecovery?: (event: RecoveryEvent) => void;
}

export type PersistStep = 'snapshot-file' | 'wal-snapshot-marker' | 'wal-save';

export type RecoveryEvent =
  | { kind: 'wal-torn-tail'; repair: WalRepair }
  | { kind: 'snapshot-broken'; file: string; reason: string }
  | { kind: 'hard-state-raised'; from: HardState; to: HardState };

export interface PersistBatch {
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  mustSync: boolean;
  /**
   * Sync on the calling thread instead of the thread pool: cheaper for a lone write (no hand-off to
   * a pool thread and back, which costs most on a busy machine), but the event loop waits meanwhile.
   */
  syncInline?: boolean;
}

export class DiskStorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiskStorageError';
  }
}

const EMPTY_CS: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

export class DiskStorage<M extends MemoryStorageLike = MemoryStorage> {
  private saved = false;
  private closed = false;
  /** WAL markers of snapshot files written in the background, not yet in the WAL. */
  private pendingMarkers: WalSnapshot[] = [];

  private constructor(
    readonly dir: string,
    private readonly wal: Wal,
    private readonly snapshotter: Snapshotter,
    private mem: M,
    private readonly memoryClass: MemoryStorageClass<M>,
    private readonly fresh: boolean,
    private readonly crashPoint: ((step: PersistStep) => void) | undefined,
  ) {}

  /** Opens (or creates) the storage in `dir`; on restart, loads snapshot + WAL into a new memory storage. */
  static async open<M extends MemoryStorageLike = MemoryStorage>(dir: string, opts: DiskStorageOptions<M> = {}): Promise<DiskStorage<M>> {
    return DiskStorage.openSync(dir, opts);
  }

  /** As open, synchronously. */
  static openSync<M extends MemoryStorageLike = MemoryStorage>(dir: string, opts: DiskStorageOptions<M> = {}): DiskStorage<M> {
    const walDir = join(dir, 'wal');
    const snapDir = join(dir, 'snap');
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      if (opts.fsync ?? true) fsyncDir(dirname(resolve(dir)));
    }
    const walOpts = {
      ...(opts.segmentBytes !== undefined ? { segmentBytes: opts.segmentBytes } : {}),
      ...(opts.fsync !== undefined ? { fsync: opts.fsync } : {}),
      ...(opts.preallocate !== undefined ? { preallocate: opts.preallocate } : {}),
      ...(opts.onSync !== undefined ? { onSync: opts.onSync } : {}),
    };
    const snapshotter = new Snapshotter(snapDir, { fsync: opts.fsync ?? true, keep: opts.keepSnapshots ?? 3 });
    snapshotter.init();
    // Without a memory class, M is MemoryStorage (the type parameter's default).
    const cls = opts.memory ?? (MemoryStorage as unknown as MemoryStorageClass<M>);
    if (!Wal.exists(walDir)) {
      mkdirSync(walDir, { recursive: true });
      const wal = Wal.create(walDir, new Uint8Array(0), walOpts);
      return new DiskStorage(dir, wal, snapshotter, new cls(), cls, true, opts.crashPoint);
    }
    const { wal, contents, repaired } = Wal.open(walDir, walOpts);
    try {
      if (repaired !== undefined) opts.onRecovery?.({ kind: 'wal-torn-tail', repair: repaired });
      const loaded = snapshotter.loadNewestAvailable(contents.snapshots, (file, err) => {
        opts.onRecovery?.({ kind: 'snapshot-broken', file, reason: err.message });
      });
      let mem: M;
      let from: { index: number; term: number };
      if (loaded !== undefined) {
        mem = new cls();
        mem.applySnapshot(loaded.snapshot);
        from = { index: loaded.snapshot.metadata.index, term: loaded.snapshot.metadata.term };
      } else {
        const zero = lastZeroMarker(contents.snapshots);
        if (zero === undefined) {
          throw new DiskStorageError(`${dir}: no usable snapshot file and the WAL no longer starts at index 0`);
        }
        mem = zero.confState.voters.length > 0 ? cls.bootstrap(zero.confState.voters, zero.confState.learners) : new cls();
        from = { index: 0, term: 0 };
      }
      const ents = entriesAfter(contents, from);
      if (ents.length > 0) mem.append(ents);
      // A crash between a received snapshot's WAL marker and the hard state after it leaves a hard
      // state behind the snapshot; Raft refuses commit < snapshot index. A snapshot only holds
      // committed entries of a term the node has seen, so raising commit (and term, with no vote:
      // the node never voted in that term, or the vote would be on disk) is safe.
      let hs = contents.hardState;
      if (loaded !== undefined) {
        const m = loaded.snapshot.metadata;
        if (hs.commit < m.index || hs.term < m.term) {
          const raised = { term: Math.max(hs.term, m.term), vote: hs.term < m.term ? 0 : hs.vote, commit: Math.max(hs.commit, m.index) };
          opts.onRecovery?.({ kind: 'hard-state-raised', from: hs, to: raised });
          hs = raised;
        }
      }
      mem.setHardState(hs);
      // Created but never written (e.g. a crash before bootstrap): still new.
      const stored = contents.hardState;
      const empty = loaded === undefined && contents.records.every((r) => r.kind === 'snapshot' && isEmptyMarker(r.snapshot)) &&
        stored.term === 0 && stored.vote === 0 && stored.commit === 0;
      return new DiskStorage(dir, wal, snapshotter, mem, cls, empty, opts.crashPoint);
    } catch (e) {
      wal.close();
      throw e;
    }
  }

  /** What the RawNode reads. */
  get storage(): M {
    return this.mem;
  }

  /** True when the storage holds no state: just created, or created and never written (a crash before bootstrap). */
  isNew(): boolean {
    return this.fresh;
  }

  /** fdatasync/fsync calls made by the WAL, for tests and metrics. */
  get walSyncs(): number {
    return this.wal.syncs;
  }

  /** The WAL segment files currently on disk. */
  walSegments(): string[] {
    return this.wal.segments();
  }

  /**
   * First start: makes the memory storage MemoryStorage.bootstrap(voters, learners) and persists it
   * (its snapshot, entries and hard state), so that a restart comes back to the same state.
   */
  bootstrap(voters: NodeId[], learners: NodeId[] = []): void {
    if (!this.fresh || this.saved) throw new DiskStorageError(`${this.dir}: bootstrap is only allowed on a new, empty storage`);
    const mem = this.memoryClass.bootstrap(voters, learners);
    const snap = mem.snapshot();
    if (snap.metadata.index > 0) {
      this.snapshotter.save(snap);
      this.wal.saveSnapshot(marker(snap));
    } else {
      const cs = mem.initialState().confState;
      this.wal.saveSnapshot({ index: 0, term: 0, confState: { ...EMPTY_CS, ...cs } });
    }
    const first = mem.firstIndex();
    const last = mem.lastIndex();
    const ents = last >= first ? mem.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
    this.wal.save(mem.hardState(), ents, true);
    this.mem = mem;
    this.saved = true;
  }

  /**
   * Persists one Ready's worth of state, in etcd's order; see the file comment. The WAL's fdatasync
   * runs on the thread pool (the event loop stays free meanwhile); the memory storage is updated
   * once it is durable. A batch with a snapshot is persisted synchronously.
   */
  async save(rd: PersistBatch): Promise<void> {
    if (this.pendingMarkers.length > 0) this.flushMarkers();
    if (rd.syncInline === true || (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0)) { this.saveSync(rd); return; }
    if (this.wal.write(rd.hardState, rd.entries, rd.mustSync)) await this.wal.syncAsync();
    this.crashPoint?.('wal-save');
    if (rd.hardState !== undefined) this.mem.setHardState(rd.hardState);
    if (rd.entries.length > 0) this.mem.append(rd.entries);
    this.saved = true;
  }

  saveSync(rd: PersistBatch): void {
    if (this.pendingMarkers.length > 0) this.flushMarkers();
    const snap = rd.snapshot !== undefined && rd.snapshot.metadata.index > 0 ? rd.snapshot : undefined;
    if (snap !== undefined) {
      this.snapshotter.save(snap);
      this.crashPoint?.('snapshot-file');
      this.wal.saveSnapshot(marker(snap));
      this.crashPoint?.('wal-snapshot-marker');
    }
    this.wal.save(rd.hardState, rd.entries, rd.mustSync);
    this.crashPoint?.('wal-save');
    if (snap !== undefined) {
      this.mem.applySnapshot(snap);
      this.releaseOld();
    }
    if (rd.hardState !== undefined) this.mem.setHardState(rd.hardState);
    if (rd.entries.length > 0) this.mem.append(rd.entries);
    this.saved = true;
  }

  /**
   * Takes a snapshot of the applied state at `index`: memory createSnapshot, then the .snap file and
   * the WAL marker (synced), then old snapshot files are purged and WAL segments below the oldest
   * kept snapshot released.
   */
  createSnapshot(index: number, cs: ConfState | undefined, data: Uint8Array): Snapshot {
    this.mem.createSnapshot(index, cs, data);
    const snap = this.mem.snapshot();
    if (snap.metadata.index !== index) {
      throw new DiskStorageError(`memory storage snapshot is at ${snap.metadata.index}, expected ${index}`);
    }
    this.snapshotter.save(snap);
    this.crashPoint?.('snapshot-file');
    this.wal.saveSnapshot(marker(snap));
    this.crashPoint?.('wal-snapshot-marker');
    this.releaseOld();
    this.saved = true;
    return snap;
  }

  /**
   * As createSnapshot, with the file written on the thread pool: the memory storage has the snapshot
   * when this returns (so the caller may compact at once); the promise settles once the file is
   * durable. Its WAL marker is then written and synced at once, or, if a WAL sync is in flight, at
   * the start of the next save; only after that are old snapshot files and WAL segments released.
   * A crash before the marker leaves a file the next open ignores.
   */
  async createSnapshotAsync(index: number, cs: ConfState | undefined, data: Uint8Array): Promise<Snapshot> {
    this.mem.createSnapshot(index, cs, data);
    const snap = this.mem.snapshot();
    if (snap.metadata.index !== index) {
      throw new DiskStorageError(`memory storage snapshot is at ${snap.metadata.index}, expected ${index}`);
    }
    this.saved = true;
    await this.snapshotter.saveAsync(snap);
    if (this.closed) return snap;
    this.crashPoint?.('snapshot-file');
    this.pendingMarkers.push(marker(snap));
    if (!this.wal.syncInFlight) this.flushMarkers();
    return snap;
  }

  /** Drops in-memory entries before `keepFrom` (the entry at keepFrom stays as the dummy). Disk is unaffected. */
  compact(keepFrom: number): void {
    this.mem.compact(keepFrom);
  }

  close(): void {
    this.closed = true;
    this.wal.close();
  }

  /** Writes and syncs the pending snapshot markers, then releases what they make obsolete. */
  private flushMarkers(): void {
    const ms = this.pendingMarkers;
    this.pendingMarkers = [];
    let owed = false;
    for (const m of ms) owed = this.wal.writeSnapshot(m) || owed;
    if (owed) this.wal.sync();
    this.crashPoint?.('wal-snapshot-marker');
    this.releaseOld();
  }

  /** Once the newest snapshot has its WAL marker: purge old snapshot files, then WAL segments below the oldest kept. */
  private releaseOld(): void {
    this.snapshotter.purge();
    const kept = this.snapshotter.list();
    const oldest = kept[kept.length - 1];
    if (oldest === undefined) return;
    const parsed = parseSnapName(oldest);
    if (parsed !== undefined) this.wal.releaseTo(parsed.index);
  }
}

function marker(s: Snapshot): WalSnapshot {
  return { index: s.metadata.index, term: s.metadata.term, confState: s.metadata.confState };
}

function isEmptyMarker(m: WalSnapshot): boolean {
  const cs = m.confState;
  return m.index === 0 && m.term === 0 && cs.voters.length === 0 && cs.learners.length === 0 &&
    cs.votersOutgoing.length === 0 && cs.learnersNext.length === 0;
}

function lastZeroMarker(ms: readonly WalSnapshot[]): WalSnapshot | undefined {
  for (let i = ms.length - 1; i >= 0; i--) if (ms[i]!.index === 0) return ms[i];
  return undefined;
}
