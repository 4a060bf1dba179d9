// A flipped bit anywhere but in a torn tail makes the WAL refuse to open, and the error names the
// file and the byte offset of the bad record: silent loss of acknowledged entries is never an option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WalCorruptError } from '../../../manager/raft/wal/errors.js';
import { readFrame, RecordType } from '../../../manager/raft/wal/record.js';
import { Wal } from '../../../manager/raft/wal/wal.js';
import { entries, scratchDir } from './helpers.js';

function entryFrames(buf: Uint8Array): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  let off = 0;
  for (;;) {
    const f = readFrame(buf, off);
    if (f.kind !== 'record') return out;
    if (f.type === RecordType.Entry) out.push({ start: off, end: f.next });
    off = f.next;
  }
}

function flipAndOpen(dir: string, seg: string, which: number, opts: object): unknown {
  const file = join(dir, seg);
  const buf = readFileSync(file);
  const fr = entryFrames(buf)[which]!;
  buf[fr.start + 8 + 5 + 3]! ^= 0x04; // a bit inside the entry's data
  writeFileSync(file, buf);
  try {
    Wal.open(dir, opts).wal.close();
    return undefined;
  } catch (e) {
    return { e, offset: fr.start, file };
  }
}

test('a flipped bit in an earlier record of the last segment is refused with file and offset', () => {
  const { dir, cleanup } = scratchDir('flip-last');
  const opts = { segmentBytes: 1 << 20, fsync: false, preallocate: false };
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    w.save(undefined, entries(1, 10), false);
    w.close();
    const seg = Wal.open(dir, opts);
    const name = seg.wal.segments()[0]!;
    seg.wal.close();
    const r = flipAndOpen(dir, name, 4, opts) as { e: unknown; offset: number; file: string } | undefined;
    assert.ok(r !== undefined, 'open must fail');
    assert.ok(r.e instanceof WalCorruptError);
    assert.equal(r.e.file, r.file);
    assert.equal(r.e.offset, r.offset);
    assert.match(r.e.message, new RegExp(`${name}.*offset ${r.offset}`));
  } finally {
    cleanup();
  }
});

test('a flipped bit in an earlier segment is refused with that segment and offset', () => {
  const { dir, cleanup } = scratchDir('flip-earlier');
  const opts = { segmentBytes: 2048, fsync: false, preallocate: false };
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    for (let i = 1; i <= 200; i += 2) w.save(undefined, entries(i, i + 1, 1, 30), false);
    const names = w.segments();
    w.close();
    assert.ok(names.length >= 3);
    const r = flipAndOpen(dir, names[1]!, 2, opts) as { e: unknown; offset: number; file: string } | undefined;
    assert.ok(r !== undefined, 'open must fail');
    assert.ok(r.e instanceof WalCorruptError);
    assert.equal(r.e.file, join(dir, names[1]!));
    assert.equal(r.e.offset, r.offset);
    assert.match(r.e.message, /CRC mismatch/);
  } finally {
    cleanup();
  }
});

test('a truncated earlier segment is refused, not repaired', () => {
  const { dir, cleanup } = scratchDir('short-earlier');
  const opts = { segmentBytes: 2048, fsync: false, preallocate: false };
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    for (let i = 1; i <= 100; i += 2) w.save(undefined, entries(i, i + 1, 1, 30), false);
    const names = w.segments();
    w.close();
    const file = join(dir, names[0]!);
    const buf = readFileSync(file);
    writeFileSync(file, buf.subarray(0, buf.length - 3));
    assert.throws(() => Wal.open(dir, opts), (e: unknown) => e instanceof WalCorruptError && e.file === file);
  } finally {
    cleanup();
  }
});
