// Segment cuts: a WAL that spans many small segments names them `seq-firstIndex`, reads back the same
// log across all of them, keeps no more than one spare `.tmp`, and releaseTo removes only segments
// wholly below the given index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entriesAfter } from '../../../manager/raft/wal/reader.js';
import { parseSegmentName } from '../../../manager/raft/wal/segment-name.js';
import { Wal } from '../../../manager/raft/wal/wal.js';
import { entries, scratchDir } from './helpers.js';

const opts = { segmentBytes: 4096, fsync: false, preallocate: true };

test('a log spanning many segments reads back whole, with consecutive names and first indexes', () => {
  const { dir, cleanup } = scratchDir('segments');
  try {
    const w = Wal.create(dir, new Uint8Array([1]), opts);
    for (let i = 1; i <= 600; i += 5) w.save({ term: 1, vote: 1, commit: i }, entries(i, i + 4, 1, 40), true);
    const names = w.segments();
    w.close();
    assert.ok(names.length >= 10, `expected many segments, got ${names.length}`);
    const parsed = names.map((n) => parseSegmentName(n)!);
    parsed.forEach((p, k) => assert.equal(p.seq, k));
    for (let k = 1; k < parsed.length; k++) assert.ok(parsed[k]!.firstIndex > parsed[k - 1]!.firstIndex);
    // Closed segments were truncated to their content; at most one spare preallocated file exists.
    for (const n of names.slice(0, -1)) assert.ok(statSync(join(dir, n)).size >= 4096 && statSync(join(dir, n)).size < 4096 + 600);
    assert.ok(readdirSync(dir).filter((n) => n.endsWith('.tmp')).length <= 1);

    const { wal, contents } = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, 600, 1, 40));
    assert.deepEqual(contents.hardState, { term: 1, vote: 1, commit: 596 });
    wal.save(undefined, entries(601, 700, 1, 40), true);
    wal.close();
    const again = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(again.contents, { index: 0, term: 0 }), entries(1, 700, 1, 40));
    again.wal.close();
  } finally {
    cleanup();
  }
});

test('releaseTo removes only segments whose entries all lie below the index, and the rest still opens', () => {
  const { dir, cleanup } = scratchDir('release');
  try {
    const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const w = Wal.create(dir, new Uint8Array(0), opts);
    for (let i = 1; i <= 400; i += 4) w.save({ term: 2, vote: 1, commit: i }, entries(i, i + 3, 2, 40), false);
    const before = w.segments().map((n) => parseSegmentName(n)!);
    w.saveSnapshot({ index: 300, term: 2, confState: cs });
    const removed = w.releaseTo(300);
    assert.ok(removed.length > 0);
    const kept = w.segments().map((n) => parseSegmentName(n)!);
    // Every removed segment is followed by one starting at or below 300; the first kept one holds 300 or less.
    for (const r of removed) {
      const k = before.findIndex((s) => s.name === r);
      assert.ok(before[k + 1]!.firstIndex <= 300);
    }
    assert.ok(kept[0]!.firstIndex <= 300);
    w.close();
    const { wal, contents } = Wal.open(dir, opts);
    assert.deepEqual(contents.hardState, { term: 2, vote: 1, commit: 397 });
    assert.deepEqual(entriesAfter(contents, { index: 300, term: 2 }), entries(301, 400, 2, 40));
    wal.close();
  } finally {
    cleanup();
  }
});

test('a spare segment left half-written by an interrupted cut is discarded, not reused', () => {
  const { dir, cleanup } = scratchDir('stale-tmp');
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    w.save({ term: 1, vote: 1, commit: 0 }, entries(1, 10, 1, 40), true);
    w.close();
    const tmp = join(dir, 'next.wal.tmp');
    assert.ok(existsSync(tmp));
    // A crash after writing a (long) header into the spare file but before its rename.
    writeFileSync(tmp, Buffer.alloc(200, 0x5a));
    const { wal } = Wal.open(dir, opts);
    const segsBefore = wal.segments().length;
    for (let i = 11; wal.segments().length < segsBefore + 2; i += 5) wal.save({ term: 1, vote: 1, commit: i }, entries(i, i + 4, 1, 40), true);
    const last = wal.lastIndex;
    wal.close();
    const again = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(again.contents, { index: 0, term: 0 }), entries(1, last, 1, 40));
    again.wal.close();
  } finally {
    cleanup();
  }
});
