// Snapshot files, after etcd's snap.Snapshotter. Each `%016x-%016x.snap` (term-index) file holds a
// SnapshotFile{crc: CRC-32 of data, data: encoded Snapshot}, written to a .tmp, fsynced, renamed
// and the directory fsynced. Loading picks the newest file that is intact and that the WAL has a
// snapshot marker for; a corrupt file is renamed `.broken` and the next older one is tried.
import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writevSync,
} from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeSnapshot, decodeSnapshotFile, encodeSnapshotFileParts, encodeSnapshotFilePartsAsync, type WalSnapshot } from '../codec.js';
import type { Snapshot } from '../core/types.js';
import { fsyncDir } from '../wal/fs-util.js';
import { parseSnapName, snapName } from './snap-name.js';

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export interface SnapshotterOptions {
  /** fsync file and directory (default true). */
  fsync?: boolean;
  /** How many snapshot files to keep after a save (default 3, at least 1). */
  keep?: number;
}

export interface LoadedSnapshot {
  snapshot: Snapshot;
  file: string;
}

export class Snapshotter {
  private readonly fsync: boolean;
  private readonly keep: number;

  constructor(readonly dir: string, opts: SnapshotterOptions = {}) {
    this.fsync = opts.fsync ?? true;
    this.keep = Math.max(1, opts.keep ?? 3);
  }

  /** Creates the directory if needed; removes leftover .tmp files of interrupted saves. */
  init(): void {
    if (!existsSync(this.dir)) {
      mkdirSync(this.dir, { recursive: true });
      if (this.fsync) fsyncDir(dirname(resolve(this.dir)));
    }
    for (const n of readdirSync(this.dir)) if (n.endsWith('.snap.tmp')) rmSync(join(this.dir, n), { force: true });
  }

  /** Snapshot file names, newest (highest index, then term) first. */
  list(): string[] {
    const named: Array<{ n: string; index: number; term: number }> = [];
    for (const n of readdirSync(this.dir)) {
      const p = parseSnapName(n);
      if (p !== undefined) named.push({ n, ...p });
    }
    return named.sort((a, b) => b.index - a.index || b.term - a.term).map((x) => x.n);
  }

  /**
   * Writes `snap` durably. Returns the file path. Old files are not purged here: call purge() once
   * the WAL has a marker for this one, or a crash in between could leave no usable snapshot.
   */
  save(snap: Snapshot): string {
    const { term, index } = snap.metadata;
    if (index === 0) throw new SnapshotError('refusing to save an empty snapshot (index 0)');
    const { parts } = encodeSnapshotFileParts(snap);
    const name = snapName(term, index);
    const tmp = join(this.dir, `${name}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      let rest = parts;
      let pos = 0;
      while (rest.length > 0) {
        const n = writevSync(fd, rest, pos);
        pos += n;
        rest = advanceParts(rest, n);
      }
      if (this.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, name));
    if (this.fsync) fsyncDir(this.dir);
    return join(this.dir, name);
  }

  /**
   * As save, with the file written, synced and renamed on the thread pool (the CRC computed a
   * slice per loop turn first). The event loop stays free while a large snapshot reaches the disk.
   */
  async saveAsync(snap: Snapshot): Promise<string> {
    const { term, index } = snap.metadata;
    if (index === 0) throw new SnapshotError('refusing to save an empty snapshot (index 0)');
    const { parts } = await encodeSnapshotFilePartsAsync(snap);
    const name = snapName(term, index);
    const tmp = join(this.dir, `${name}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      let rest = parts;
      let pos = 0;
      while (rest.length > 0) {
        const { bytesWritten } = await fh.writev(rest, pos);
        pos += bytesWritten;
        rest = advanceParts(rest, bytesWritten);
      }
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, name));
    if (this.fsync) {
      const dh = await open(this.dir, 'r');
      try { await dh.sync(); } finally { await dh.close(); }
    }
    return join(this.dir, name);
  }

  /** Reads and checks one snapshot file; throws SnapshotError naming the file when it is bad. */
  read(name: string): Snapshot {
    const file = join(this.dir, name);
    const parsed = parseSnapName(name);
    if (parsed === undefined) throw new SnapshotError(`${file}: not a snapshot file name`);
    let snap: Snapshot;
    try {
      const f = decodeSnapshotFile(readFileSync(file));
      if (f.data.length === 0) throw new SnapshotError(`${file}: empty snapshot`);
      if ((crc32(f.data) >>> 0) !== f.crc) throw new SnapshotError(`${file}: CRC mismatch`);
      snap = decodeSnapshot(f.data);
    } catch (e) {
      if (e instanceof SnapshotError) throw e;
      throw new SnapshotError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (snap.metadata.term !== parsed.term || snap.metadata.index !== parsed.index) {
      throw new SnapshotError(`${file}: metadata (term ${snap.metadata.term}, index ${snap.metadata.index}) does not match the name`);
    }
    return snap;
  }

  /**
   * The newest intact snapshot that one of `markers` (the WAL's snapshot records) vouches for, or
   * undefined if none. Corrupt files met on the way are renamed `.broken` (reported via onBroken).
   */
  loadNewestAvailable(markers: readonly WalSnapshot[], onBroken?: (file: string, err: SnapshotError) => void): LoadedSnapshot | undefined {
    for (const name of this.list()) {
      const p = parseSnapName(name)!;
      if (!markers.some((m) => m.index === p.index && m.term === p.term)) continue;
      try {
        return { snapshot: this.read(name), file: join(this.dir, name) };
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw e;
        const file = join(this.dir, name);
        renameSync(file, `${file}.broken`);
        if (this.fsync) fsyncDir(this.dir);
        onBroken?.(file, e);
      }
    }
    return undefined;
  }

  /** Removes all but the newest `keep` snapshot files. */
  purge(): string[] {
    const removed = this.list().slice(this.keep);
    for (const n of removed) rmSync(join(this.dir, n), { force: true });
    return removed;
  }

  exists(name: string): boolean {
    return existsSync(join(this.dir, name));
  }
}

/** The parts left after `n` bytes of them were written. */
function advanceParts(parts: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < parts.length && n >= parts[i]!.length) { n -= parts[i]!.length; i++; }
  if (i === parts.length) return [];
  return [parts[i]!.subarray(n), ...parts.slice(i + 1)];
}
