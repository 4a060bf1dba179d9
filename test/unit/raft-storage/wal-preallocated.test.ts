// Preallocated segments: every segment (and the spare made ready for the next cut) is written in full
// before use, so appends overwrite allocated blocks (about half the fdatasync cost on this disk) and a
// crash leaves zeros, not garbage, after the last write. Such a crash can lose any sector written
// since the last sync: the log then opens with the records before the first damaged one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entriesAfter } from '../../../manager/raft/wal/reader.js';
import { readFrame, RecordType, SECTOR_BYTES } from '../../../manager/raft/wal/record.js';
import { Wal } from '../../../manager/raft/wal/wal.js';
import { entries, scratchDir } from './helpers.js';

const SEG = 64 * 1024;
const opts = { segmentBytes: SEG, fsync: false, preallocate: true };

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

function assertAllocated(file: string, bytes: number): void {
  const st = statSync(file);
  assert.equal(st.size, bytes, `${file} has the segment size`);
  // Real blocks, not a sparse hole: ftruncate alone would leave st.blocks near 0.
  assert.ok(st.blocks * 512 >= bytes, `${file} is allocated (${st.blocks} blocks of 512 for ${bytes} bytes)`);
}

test('the active segment and the spare for the next cut are preallocated in full, before and after a cut', () => {
  const { dir, cleanup } = scratchDir('prealloc');
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    const first = w.segments();
    assert.equal(first.length, 1);
    assertAllocated(join(dir, first[0]!), SEG);
    assertAllocated(join(dir, 'next.wal.tmp'), SEG);
    let i = 0;
    while (w.segments().length < 2) { i++; w.save({ term: 1, vote: 1, commit: i - 1 }, entries(i, i, 1, 200), false); }
    const segs = w.segments();
    // The closed segment was cut down to its records; the new one and a new spare are full size.
    assert.ok(statSync(join(dir, segs[0]!)).size < SEG + 1024);
    assertAllocated(join(dir, segs[1]!), SEG);
    assertAllocated(join(dir, 'next.wal.tmp'), SEG);
    w.close();
    const { wal, contents } = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, i, 1, 200));
    wal.close();
  } finally {
    cleanup();
  }
});

test('a preallocated segment that lost any one unsynced sector opens with the records before the damage', () => {
  const { dir, cleanup } = scratchDir('prealloc-sector');
  try {
    const src = join(dir, 'src');
    const w = Wal.create(src, new Uint8Array(0), opts);
    // 40 entries of assorted sizes so records start, end and straddle sectors at many points.
    for (let i = 1; i <= 40; i++) w.save(undefined, entries(i, i, 1, 20 + ((i * 53) % 300)), false);
    w.close();
    const seg = readdirSync(src).find((n) => n.endsWith('.wal'))!;
    const full = readFileSync(join(src, seg));
    assert.equal(full.length, SEG);
    const fr = frames(full);
    const ents = fr.filter((f) => f.type === RecordType.Entry);
    assert.equal(ents.length, 40);
    const want = Array.from({ length: 40 }, (_, k) => entries(k + 1, k + 1, 1, 20 + (((k + 1) * 53) % 300))[0]!);
    // Pretend the last sync happened after entry 25: every sector from there to the end may be lost.
    const firstSector = Math.floor(ents[25]!.start / SECTOR_BYTES);
    const lastSector = Math.floor((ents[39]!.end - 1) / SECTOR_BYTES);
    let checked = 0;
    for (const mode of ['lost-sector', 'lost-suffix'] as const) {
      for (let s = firstSector; s <= lastSector; s++) {
        const buf = Buffer.from(full);
        const from = s * SECTOR_BYTES;
        const to = mode === 'lost-sector' ? from + SECTOR_BYTES : buf.length;
        buf.fill(0, Math.max(from, ents[25]!.start), to);
        // The records that survive: those before the first one whose bytes changed.
        const damaged = fr.findIndex((f) => !full.subarray(f.start, f.end).equals(buf.subarray(f.start, f.end)));
        const whole = (damaged === -1 ? fr : fr.slice(0, damaged)).filter((f) => f.type === RecordType.Entry).length;
        const d = join(dir, `${mode}-${s}`);
        mkdirSync(d);
        writeFileSync(join(d, seg), buf);
        const { wal, contents } = Wal.open(d, opts);
        assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), want.slice(0, whole), `${mode} at sector ${s}`);
        // The log goes on after the repair and survives another open.
        wal.save({ term: 2, vote: 1, commit: whole }, entries(whole + 1, whole + 1, 2), true);
        wal.close();
        const again = Wal.open(d, opts);
        assert.equal(again.repaired, undefined, `${mode} at sector ${s}: nothing left to repair`);
        assert.deepEqual(entriesAfter(again.contents, { index: 0, term: 0 }), [...want.slice(0, whole), ...entries(whole + 1, whole + 1, 2)]);
        again.wal.close();
        checked++;
      }
    }
    assert.ok(checked >= 10, `checked ${checked} crash images`);
  } finally {
    cleanup();
  }
});

test('truncating a preallocated last segment at every byte offset of its last records recovers the whole records', () => {
  const { dir, cleanup } = scratchDir('prealloc-trunc');
  try {
    const src = join(dir, 'src');
    const w = Wal.create(src, new Uint8Array(0), opts);
    for (let i = 1; i <= 12; i++) w.save({ term: 1, vote: 1, commit: i - 1 }, entries(i, i, 1, 30), false);
    w.close();
    const seg = readdirSync(src).find((n) => n.endsWith('.wal'))!;
    const full = readFileSync(join(src, seg));
    const fr = frames(full);
    const ents = fr.filter((f) => f.type === RecordType.Entry);
    const from = ents[9]!.start;
    const to = fr[fr.length - 1]!.end;
    for (let cut = from; cut <= to; cut++) {
      const d = join(dir, `cut-${cut}`);
      mkdirSync(d);
      writeFileSync(join(d, seg), full.subarray(0, cut));
      const whole = ents.filter((f) => f.end <= cut).length;
      const { wal, contents } = Wal.open(d, opts);
      assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, whole, 1, 30), `cut at ${cut}`);
      wal.save(undefined, entries(whole + 1, whole + 1, 1, 30), true);
      wal.close();
      const again = Wal.open(d, opts);
      assert.deepEqual(entriesAfter(again.contents, { index: 0, term: 0 }), entries(1, whole + 1, 1, 30), `append after cut at ${cut}`);
      again.wal.close();
    }
  } finally {
    cleanup();
  }
});
