// A segmented write-ahead log for Raft, after etcd's server/storage/wal. See record.ts for the frame.
//
// Segments are `%016x-%016x.wal` (seq, first index), each preallocated to `segmentBytes` and starting
// with a CRC record, the metadata and (after a cut) the current hard state. `save` frames entries then
// the hard state into one buffer and writes it with one pwrite; it fdatasyncs only when asked.
// When a segment fills, `cut` truncates it to its end, fsyncs it, turns the ready `.tmp` file into the
// next segment (header, fsync, rename, fsync dir) and prepares the next `.tmp`.
//
// Writes are synchronous (one pwrite is a few µs). The sync can be too (`save`), or deferred and run
// on the libuv thread pool (`write` then `syncAsync`): the event loop then keeps sending, receiving
// and taking proposals while the disk flushes, which is what lets a leader's messages reach the
// followers while its own fdatasync runs, and new proposals gather into the next Ready.
import {
  closeSync, copyFileSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync,
  renameSync, rmSync, unlinkSync, writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { encodeHardState, encodeWalSnapshot, entryEncodedLength, writeEntry, type WalSnapshot } from '../codec.js';
import type { Entry, HardState } from '../core/types.js';
import { EMPTY_HARD_STATE } from '../core/types.js';
import { WalError } from './errors.js';
import { fsyncDir, writeZeros } from './fs-util.js';
import { readWal, type WalContents } from './reader.js';
import { FrameBuffer, RecordType } from './record.js';
import { segmentName, sortedSegments, type SegmentName } from './segment-name.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1000 * 1000;
const TMP_NAME = 'next.wal.tmp';
const EMPTY = new Uint8Array(0);

export interface WalOptions {
  /** Cut a new segment once the current one reaches this size. Default 64 MB. */
  segmentBytes?: number;
  /** fdatasync when asked to (default true). False only for fast tests: nothing is durable. */
  fsync?: boolean;
  /** Write zeros over each new segment before use (default true); false leaves it sparse. */
  preallocate?: boolean;
  /** Called after each file sync with its duration in seconds (for a latency histogram; etcd warns above 1 s). */
  onSync?: (seconds: number) => void;
}

export interface WalRepair {
  file: string;
  /** Where the valid prefix ended; everything after it was zeroed. */
  offset: number;
  /** The copy of the segment as found, kept for inspection. */
  broken: string;
}

export interface WalOpenResult {
  wal: Wal;
  contents: WalContents;
  repaired?: WalRepair;
}

export class Wal {
  private readonly fb = new FrameBuffer();
  private syncCount = 0;
  private failed: Error | undefined;
  private tmpReady = false;
  private syncing = false;
  private closeAfterSync = false;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  private readonly preallocate: boolean;
  private readonly onSync: ((seconds: number) => void) | undefined;

  private constructor(
    readonly dir: string,
    opts: WalOptions,
    private fd: number,
    private seg: SegmentName,
    private offset: number,
    private crc: number,
    private last: number,
    private state: HardState,
    private readonly metadata: Uint8Array,
  ) {
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.fsync = opts.fsync ?? true;
    this.preallocate = opts.preallocate ?? true;
    this.onSync = opts.onSync;
  }

  /** True if `dir` holds at least one WAL segment. */
  static exists(dir: string): boolean {
    return existsSync(dir) && sortedSegments(readdirSync(dir)).length > 0;
  }

  /** Creates a new WAL in `dir` (made if missing; must hold no segment yet). */
  static create(dir: string, metadata: Uint8Array, opts: WalOptions = {}): Wal {
    mkdirSync(dir, { recursive: true });
    if (Wal.exists(dir)) throw new WalError(`WAL already exists in ${dir}`);
    const name = segmentName(0, 0);
    const w = new Wal(dir, opts, -1, { seq: 0, firstIndex: 0, name }, 0, 0, 0, EMPTY_HARD_STATE, new Uint8Array(metadata));
    const tmp = w.prepareTmp();
    const fd = openSync(tmp, 'r+');
    w.fb.reset();
    w.fb.push(RecordType.Crc, 0, EMPTY);
    w.frame(RecordType.Metadata, w.metadata);
    w.frame(RecordType.Snapshot, encodeWalSnapshot({ index: 0, term: 0, confState: { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }));
    w.offset = writeSync(fd, w.fb.bytes(), 0, w.fb.length, 0);
    w.syncFd(fd, true);
    renameSync(tmp, join(dir, name));
    w.tmpReady = false;
    w.syncDir();
    // The WAL directory itself may be new: make its entry in the parent durable too.
    if (w.fsync) fsyncDir(dirname(resolve(dir)));
    w.fd = fd;
    w.prepareTmp(); // the next cut finds its segment ready
    return w;
  }

  /** Opens an existing WAL: reads every segment, repairs a torn tail of the last one, and positions for appends. */
  static open(dir: string, opts: WalOptions = {}): WalOpenResult {
    const segs = sortedSegments(readdirSync(dir));
    const contents = readWal(dir, segs);
    const tail = contents.tail;
    const file = join(dir, tail.segment.name);
    let repaired: WalRepair | undefined;
    if (existsSync(join(dir, TMP_NAME))) unlinkSync(join(dir, TMP_NAME));
    const fd = openSync(file, 'r+');
    const w = new Wal(dir, opts, fd, tail.segment, tail.validOffset, contents.crc, contents.lastIndex, contents.hardState, contents.metadata);
    try {
      if (tail.torn || tail.dirtyTail) {
        if (tail.torn) {
          const broken = `${file}.broken`;
          copyFileSync(file, broken);
          repaired = { file, offset: tail.validOffset, broken };
        }
        // Truncate at the valid prefix, then extend again: the rest reads as zeros.
        ftruncateSync(fd, tail.validOffset);
        ftruncateSync(fd, Math.max(tail.fileBytes, tail.validOffset));
        if (tail.validOffset === 0) w.writeHeader(fd);
        w.syncFd(fd, true);
        w.syncDir();
      }
      w.prepareTmp();
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return repaired === undefined ? { wal: w, contents } : { wal: w, contents, repaired };
  }

  /** Number of fdatasync/fsync calls made (file syncs only), for tests and metrics. */
  get syncs(): number {
    return this.syncCount;
  }

  /** Highest entry (or snapshot marker) index written. */
  get lastIndex(): number {
    return this.last;
  }

  get hardState(): HardState {
    return this.state;
  }

  /** The segment files currently in the directory, oldest first. */
  segments(): string[] {
    return sortedSegments(readdirSync(this.dir)).map((s) => s.name);
  }

  /**
   * Appends `entries` then `hs` (if given) in one write. A later entry with an index already in the
   * log supersedes it and everything after it (replay truncates). fdatasyncs when `mustSync`.
   */
  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean): void {
    if (this.write(hs, entries, mustSync)) this.sync();
  }

  /**
   * As save, without the final fdatasync: returns true when one is still owed (mustSync and no
   * segment cut, which syncs by itself); the caller then awaits syncAsync() before relying on it.
   */
  write(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean): boolean {
    this.check();
    if (this.syncing) throw new WalError('WAL write while a sync is in flight');
    if (hs === undefined && entries.length === 0) return false;
    this.fb.reset();
    for (const e of entries) {
      this.crc = this.fb.pushRollingWith(RecordType.Entry, this.crc, entryEncodedLength(e), (b, o) => { writeEntry(b, o, e); });
    }
    if (hs !== undefined) this.frame(RecordType.State, encodeHardState(hs));
    this.writeBuffered();
    if (entries.length > 0) this.last = entries[entries.length - 1]!.index;
    if (hs !== undefined) this.state = { term: hs.term, vote: hs.vote, commit: hs.commit };
    if (this.offset >= this.segmentBytes) { this.cut(); return false; }
    return mustSync;
  }

  /**
   * fdatasync of the current segment on the thread pool (no-op with fsync off). No write may start
   * until it settles; close() waits for it. A failure makes the WAL unusable, as with sync().
   */
  syncAsync(): Promise<void> {
    this.check();
    if (!this.fsync) return Promise.resolve();
    if (this.syncing) throw new WalError('WAL sync already in flight');
    this.syncing = true;
    const t0 = this.onSync !== undefined ? process.hrtime.bigint() : 0n;
    const fd = this.fd;
    return new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.syncing = false;
        if (this.closeAfterSync) { this.closeAfterSync = false; closeSync(fd); }
        if (err !== null) {
          this.failed ??= new WalError(`WAL sync failed in ${this.seg.name}: ${err.message}`);
          reject(this.failed);
          return;
        }
        this.syncCount++;
        if (this.onSync !== undefined) this.onSync(Number(process.hrtime.bigint() - t0) / 1e9);
        resolve();
      });
    });
  }

  /** Records that a snapshot at (index, term) exists; always synced. Write the .snap file first. */
  saveSnapshot(s: WalSnapshot): void {
    if (this.writeSnapshot(s)) this.sync();
  }

  /** As saveSnapshot without the sync: returns true when one is owed (see write). */
  writeSnapshot(s: WalSnapshot): boolean {
    this.check();
    if (this.syncing) throw new WalError('WAL write while a sync is in flight');
    this.fb.reset();
    this.frame(RecordType.Snapshot, encodeWalSnapshot(s));
    this.writeBuffered();
    if (s.index > this.last) this.last = s.index;
    if (this.offset >= this.segmentBytes) { this.cut(); return false; }
    return true;
  }

  /** True while syncAsync runs (no write may start). */
  get syncInFlight(): boolean {
    return this.syncing;
  }

  /** fdatasync of the current segment (no-op with fsync off). */
  sync(): void {
    this.check();
    this.syncFd(this.fd, false);
  }

  /**
   * Deletes segments all of whose entries are below `index` (a snapshot index): segment k goes when
   * segment k+1 starts at or below `index`. The current segment is never removed. Returns the names removed.
   */
  releaseTo(index: number): string[] {
    this.check();
    const segs = sortedSegments(readdirSync(this.dir));
    const removed: string[] = [];
    for (let k = 0; k + 1 < segs.length; k++) {
      if (segs[k + 1]!.firstIndex > index || segs[k]!.seq >= this.seg.seq) break;
      rmSync(join(this.dir, segs[k]!.name));
      removed.push(segs[k]!.name);
    }
    if (removed.length > 0) this.syncDir();
    return removed;
  }

  /** Syncs and closes. The WAL is unusable afterwards. */
  close(): void {
    if (this.fd < 0) return;
    if (this.syncing) {
      // The thread pool still uses the fd: its sync completes the durability; close it then.
      this.closeAfterSync = true;
      this.fd = -1;
      this.failed ??= new WalError('WAL is closed');
      return;
    }
    try {
      if (this.failed === undefined) this.syncFd(this.fd, false);
    } finally {
      closeSync(this.fd);
      this.fd = -1;
      this.failed ??= new WalError('WAL is closed');
    }
  }

  // ---- internals ----

  private check(): void {
    if (this.failed !== undefined) throw this.failed;
  }

  /** Frames one record into the buffer, rolling the CRC. */
  private frame(type: RecordType, data: Uint8Array): void {
    this.crc = this.fb.pushRolling(type, this.crc, data);
  }

  private writeBuffered(): void {
    try {
      const buf = this.fb.bytes();
      let done = 0;
      while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done, this.offset + done);
      this.offset += buf.length;
    } catch (e) {
      this.failed = new WalError(`WAL write failed in ${this.seg.name}: ${e instanceof Error ? e.message : String(e)}`);
      throw this.failed;
    }
  }

  private syncFd(fd: number, full: boolean): void {
    if (!this.fsync) return;
    const t0 = this.onSync !== undefined ? process.hrtime.bigint() : 0n;
    try {
      if (full) fsyncSync(fd);
      else fdatasyncSync(fd);
    } catch (e) {
      // After a failed fsync the page cache state is unknown (fsyncgate): refuse further use.
      this.failed = new WalError(`WAL sync failed in ${this.seg.name}: ${e instanceof Error ? e.message : String(e)}`);
      throw this.failed;
    }
    this.syncCount++;
    if (this.onSync !== undefined) this.onSync(Number(process.hrtime.bigint() - t0) / 1e9);
  }

  private syncDir(): void {
    if (this.fsync) fsyncDir(this.dir);
  }

  /** Writes the segment header (CRC, metadata, hard state) at offset 0 of fd. */
  private writeHeader(fd: number): void {
    this.fb.reset();
    this.fb.push(RecordType.Crc, this.crc, EMPTY);
    this.frame(RecordType.Metadata, this.metadata);
    this.frame(RecordType.State, encodeHardState(this.state));
    const buf = this.fb.bytes();
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, done);
    this.offset = buf.length;
  }

  /** Creates (or re-creates) the preallocated `.tmp` segment; returns its path. */
  private prepareTmp(): string {
    const tmp = join(this.dir, TMP_NAME);
    if (this.tmpReady) return tmp;
    const fd = openSync(tmp, 'w');
    try {
      if (this.preallocate) {
        writeZeros(fd, 0, this.segmentBytes);
        // Flush the zeros now, so that their writeback does not compete with the fdatasyncs of the
        // segment's real records later (Node has no fallocate, which would not dirty pages at all).
        if (this.fsync) fdatasyncSync(fd);
      } else {
        ftruncateSync(fd, this.segmentBytes);
      }
    } finally {
      closeSync(fd);
    }
    this.tmpReady = true;
    return tmp;
  }

  private cut(): void {
    try {
      ftruncateSync(this.fd, this.offset);
      this.syncFd(this.fd, true);
      const next: SegmentName = { seq: this.seg.seq + 1, firstIndex: this.last + 1, name: segmentName(this.seg.seq + 1, this.last + 1) };
      const tmp = this.prepareTmp();
      const fd = openSync(tmp, 'r+');
      this.writeHeader(fd);
      this.syncFd(fd, true);
      renameSync(tmp, join(this.dir, next.name));
      this.tmpReady = false;
      this.syncDir();
      closeSync(this.fd);
      this.fd = fd;
      this.seg = next;
      this.prepareTmp();
    } catch (e) {
      if (this.failed === undefined) {
        this.failed = new WalError(`WAL cut failed after ${this.seg.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      throw this.failed;
    }
  }
}
