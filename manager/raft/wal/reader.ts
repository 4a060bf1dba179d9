// Reads every segment of a WAL directory in order, checking the rolling CRC, and returns what they
// hold. Only the last segment may end in a torn write (a short frame, or a CRC mismatch on a frame
// with an all-zero sector chunk); the reader reports where its valid prefix ends and leaves the
// repair to the writer. Anything else wrong is a WalCorruptError naming the file and offset.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodecError, decodeEntry, decodeHardState, decodeWalSnapshot, type WalSnapshot } from '../codec.js';
import type { Entry, HardState } from '../core/types.js';
import { EMPTY_HARD_STATE } from '../core/types.js';
import { WalCorruptError, WalError } from './errors.js';
import { isTorn, readFrame, RecordType, rollCrcOfBody } from './record.js';
import type { SegmentName } from './segment-name.js';

export type WalRecord =
  | { kind: 'entry'; entry: Entry }
  | { kind: 'snapshot'; snapshot: WalSnapshot };

export interface WalTail {
  segment: SegmentName;
  /** Offset just past the last valid record of the last segment. */
  validOffset: number;
  fileBytes: number;
  /** True when the last segment ends in a torn record that must be cut off. */
  torn: boolean;
  /** True when bytes after validOffset are not all zero (torn garbage or stale data). */
  dirtyTail: boolean;
}

export interface WalContents {
  metadata: Uint8Array;
  /** The last hard state written (EMPTY_HARD_STATE if none). */
  hardState: HardState;
  /** Entries and snapshot markers in log order (replay with entriesAfter). */
  records: WalRecord[];
  snapshots: WalSnapshot[];
  /** Highest entry or snapshot-marker index seen. */
  lastIndex: number;
  /** Running CRC after the last valid record. */
  crc: number;
  tail: WalTail;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

let zeroChunk: Buffer | undefined; // allocated on first use, not at import

function allZero(buf: Buffer, from: number): boolean {
  zeroChunk ??= Buffer.alloc(64 * 1024);
  for (let i = from; i < buf.length; i += zeroChunk.length) {
    const n = Math.min(zeroChunk.length, buf.length - i);
    if (!buf.subarray(i, i + n).equals(zeroChunk.subarray(0, n))) return false;
  }
  return true;
}

export function readWal(dir: string, segments: SegmentName[]): WalContents {
  if (segments.length === 0) throw new WalError(`no WAL segments in ${dir}`);
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq !== segments[i - 1]!.seq + 1) {
      throw new WalError(`WAL segment missing between ${segments[i - 1]!.name} and ${segments[i]!.name} in ${dir}`);
    }
  }
  let metadata: Uint8Array | undefined;
  let hardState: HardState = EMPTY_HARD_STATE;
  const records: WalRecord[] = [];
  const snapshots: WalSnapshot[] = [];
  let lastIndex = 0;
  let crc = 0;
  let seenRecord = false;
  let tail: WalTail | undefined;

  for (let si = 0; si < segments.length; si++) {
    const seg = segments[si]!;
    const last = si === segments.length - 1;
    const file = join(dir, seg.name);
    const buf = readFileSync(file);
    let off = 0;
    let torn = false;
    for (;;) {
      const f = readFrame(buf, off);
      if (f.kind === 'end') break;
      if (f.kind === 'short') {
        if (last) { torn = true; break; }
        throw new WalCorruptError(file, off, 'record runs past the end of the segment');
      }
      if (f.kind === 'bad-frame') throw new WalCorruptError(file, off, f.reason);
      if (off === 0 && f.type !== RecordType.Crc) throw new WalCorruptError(file, off, 'segment does not start with a CRC record');
      if (f.type === RecordType.Crc) {
        if (f.data.length !== 0) throw new WalCorruptError(file, off, 'CRC record with data');
        if (seenRecord && f.crc !== crc) {
          throw new WalCorruptError(file, off, `CRC mismatch (segment carries ${f.crc}, log has ${crc})`);
        }
        crc = f.crc;
        seenRecord = true;
        off = f.next;
        continue;
      }
      const expect = f.type >= 1 && f.type <= 5 ? rollCrcOfBody(crc, f.typeAndData) : -1;
      if (expect !== f.crc) {
        if (last && isTorn(buf, off, f.next)) { torn = true; break; }
        throw new WalCorruptError(file, off, expect === -1 ? `unknown record type ${f.type}` : 'CRC mismatch');
      }
      crc = expect;
      seenRecord = true;
      try {
        switch (f.type) {
          case RecordType.Metadata:
            if (metadata !== undefined && !sameBytes(metadata, f.data)) throw new WalCorruptError(file, off, 'metadata differs from earlier segments');
            metadata ??= new Uint8Array(f.data);
            break;
          case RecordType.Entry: {
            const entry = decodeEntry(f.data);
            records.push({ kind: 'entry', entry });
            if (entry.index > lastIndex) lastIndex = entry.index;
            break;
          }
          case RecordType.State:
            hardState = decodeHardState(f.data);
            break;
          case RecordType.Snapshot: {
            const snapshot = decodeWalSnapshot(f.data);
            records.push({ kind: 'snapshot', snapshot });
            snapshots.push(snapshot);
            if (snapshot.index > lastIndex) lastIndex = snapshot.index;
            break;
          }
        }
      } catch (e) {
        if (e instanceof CodecError) throw new WalCorruptError(file, off, e.message);
        throw e;
      }
      off = f.next;
    }
    if (!last && off !== buf.length && !allZero(buf, off)) {
      throw new WalCorruptError(file, off, 'data after the end of records in a closed segment');
    }
    if (last) {
      tail = { segment: seg, validOffset: off, fileBytes: buf.length, torn, dirtyTail: !allZero(buf, off) };
    }
  }
  if (metadata === undefined) throw new WalCorruptError(join(dir, segments[0]!.name), 0, 'no metadata record');
  return { metadata, hardState, records, snapshots, lastIndex, crc, tail: tail! };
}

/**
 * Replays the log from a snapshot position the way etcd's ReadAll does: entries at or below
 * `from.index` are covered by the snapshot and skipped; a later entry with an index already seen
 * truncates the tail; a gap is corruption.
 */
export function entriesAfter(contents: WalContents, from: { index: number; term: number }): Entry[] {
  if (from.index > 0 && !contents.snapshots.some((s) => s.index === from.index && s.term === from.term)) {
    throw new WalError(`WAL has no snapshot marker for index ${from.index} term ${from.term}`);
  }
  const ents: Entry[] = [];
  for (const r of contents.records) {
    if (r.kind !== 'entry') continue;
    const e = r.entry;
    if (e.index <= from.index) continue;
    const pos = e.index - from.index - 1;
    if (pos > ents.length) {
      throw new WalError(`WAL entries have a gap: index ${e.index} follows ${from.index + ents.length}`);
    }
    ents.length = pos;
    ents.push(e);
  }
  return ents;
}
