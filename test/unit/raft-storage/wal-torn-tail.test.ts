// Crash recovery: a last segment cut short at ANY byte inside its last records opens with exactly
// the records that were whole, keeps a `.broken` copy, and accepts further appends; a record with
// an all-zero sector (a write that never reached the disk) is treated the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entriesAfter } from '../../../manager/raft/wal/reader.js';
import { readFrame, RecordType } from '../../../manager/raft/wal/record.js';
import { Wal } from '../../../manager/raft/wal/wal.js';
import { entries, scratchDir } from './helpers.js';

const opts = { segmentBytes: 1 << 20, fsync: false, preallocate: false };

/** Frame boundaries of a segment: [start, end, type] for each record. */
function frames(buf: Uint8Array): Array<{ start: number; end: number; type: number }> {
  const out: Array<{ start: number; end: number; type: number }> = [];
  let off = 0;
  for (;;) {
    const f = readFrame(buf, off);
    if (f.kind !== 'record') return out;
    out.push({ start: off, end: f.next, type: f.type });
    off = f.next;
  }
}

test('truncating the last segment at every byte offset of its last records recovers exactly the whole records', () => {
  const { dir, cleanup } = scratchDir('torn-every');
  try {
    const src = join(dir, 'src');
    const w = Wal.create(src, new Uint8Array(0), opts);
    for (let i = 1; i <= 20; i++) w.save(undefined, entries(i, i, 1, 10 + i), false);
    w.close();
    const seg = readdirSync(src).find((n) => n.endsWith('.wal'))!;
    const full = readFileSync(join(src, seg));
    const fr = frames(full).filter((f) => f.type === RecordType.Entry);
    assert.equal(fr.length, 20);
    const from = fr[16]!.start;
    const to = fr[19]!.end;
    for (let cut = from; cut <= to; cut++) {
      const d = join(dir, `cut-${cut}`);
      mkdirSync(d);
      writeFileSync(join(d, seg), full.subarray(0, cut));
      const whole = fr.filter((f) => f.end <= cut).length;
      const { wal, contents, repaired } = Wal.open(d, opts);
      assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, 20, 1, 0).slice(0, whole).map((e) => entries(e.index, e.index, 1, 10 + e.index)[0]!), `cut at ${cut}`);
      const torn = !fr.some((f) => f.end === cut);
      assert.equal(repaired !== undefined, torn, `repair reported at ${cut}`);
      if (torn) assert.ok(existsSync(join(d, `${seg}.broken`)));
      wal.close();
    }
  } finally {
    cleanup();
  }
});

test('after a torn tail is repaired, further appends survive another reopen', () => {
  const { dir, cleanup } = scratchDir('torn-append');
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    w.save({ term: 1, vote: 1, commit: 3 }, entries(1, 10), true);
    w.close();
    const seg = readdirSync(dir).find((n) => n.endsWith('.wal'))!;
    const all = frames(readFileSync(join(dir, seg)));
    assert.equal(all[all.length - 1]!.type, RecordType.State);
    truncateSync(join(dir, seg), all[all.length - 1]!.end - 5); // the hard state record loses its end
    const first = Wal.open(dir, opts);
    assert.ok(first.repaired !== undefined);
    assert.deepEqual(first.contents.hardState, { term: 0, vote: 0, commit: 0 });
    first.wal.save({ term: 2, vote: 1, commit: 12 }, entries(11, 12, 2), true);
    first.wal.close();
    const second = Wal.open(dir, opts);
    assert.equal(second.repaired, undefined);
    assert.deepEqual(entriesAfter(second.contents, { index: 0, term: 0 }), [...entries(1, 10), ...entries(11, 12, 2)]);
    assert.deepEqual(second.contents.hardState, { term: 2, vote: 1, commit: 12 });
    second.wal.close();
  } finally {
    cleanup();
  }
});

test('a record with an all-zero sector in the last segment is a torn write: cut off, not refused', () => {
  const { dir, cleanup } = scratchDir('torn-sector');
  try {
    const w = Wal.create(dir, new Uint8Array(0), { ...opts, preallocate: true });
    w.save(undefined, entries(1, 3), true);
    w.save(undefined, entries(4, 4, 1, 3000), true); // spans several 512-byte sectors
    w.close();
    const seg = readdirSync(dir).find((n) => n.endsWith('.wal'))!;
    const buf = readFileSync(join(dir, seg));
    const big = frames(buf).filter((f) => f.type === RecordType.Entry)[3]!;
    const sector = (Math.floor(big.start / 512) + 2) * 512; // a whole sector inside the big record
    assert.ok(sector + 512 <= big.end);
    buf.fill(0, sector, sector + 512);
    copyFileSync(join(dir, seg), join(dir, 'orig'));
    writeFileSync(join(dir, seg), buf);
    const { wal, contents, repaired } = Wal.open(dir, opts);
    assert.equal(repaired?.offset, big.start);
    assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, 3));
    wal.close();
  } finally {
    cleanup();
  }
});

test('a new segment whose header was torn by a crash is rewritten, and the log continues in it', () => {
  const { dir, cleanup } = scratchDir('torn-header');
  const small = { segmentBytes: 2048, fsync: false, preallocate: true };
  try {
    const w = Wal.create(dir, new Uint8Array([5]), small);
    let i = 0;
    while (w.segments().length < 3) { i++; w.save({ term: 1, vote: 1, commit: i }, entries(i, i, 1, 40), false); }
    const names = w.segments();
    w.close();
    const newest = join(dir, names[names.length - 1]!);
    truncateSync(newest, 5); // only part of its CRC record reached the disk
    const first = Wal.open(dir, small);
    assert.equal(first.repaired?.offset, 0);
    assert.deepEqual(entriesAfter(first.contents, { index: 0, term: 0 }), entries(1, i, 1, 40));
    assert.deepEqual(first.contents.hardState, { term: 1, vote: 1, commit: i });
    first.wal.save({ term: 2, vote: 1, commit: i + 3 }, entries(i + 1, i + 3, 2, 40), true);
    first.wal.close();
    const second = Wal.open(dir, small);
    assert.equal(second.repaired, undefined);
    assert.deepEqual(second.contents.metadata, new Uint8Array([5]));
    assert.deepEqual(entriesAfter(second.contents, { index: 0, term: 0 }), [...entries(1, i, 1, 40), ...entries(i + 1, i + 3, 2, 40)]);
    assert.deepEqual(second.contents.hardState, { term: 2, vote: 1, commit: i + 3 });
    second.wal.close();
  } finally {
    cleanup();
  }
});
