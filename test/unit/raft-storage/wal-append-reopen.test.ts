// A WAL returns after reopening exactly what was saved: entries in order, the last hard state, the
// metadata, and the snapshot markers; rewriting an index truncates the tail on replay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entriesAfter } from '../../../manager/raft/wal/reader.js';
import { Wal } from '../../../manager/raft/wal/wal.js';
import { entries, scratchDir } from './helpers.js';

const opts = { segmentBytes: 1 << 20, fsync: false, preallocate: false };

test('saved entries and hard state come back after reopen', () => {
  const { dir, cleanup } = scratchDir('reopen');
  try {
    const w = Wal.create(dir, new Uint8Array([7, 7]), opts);
    w.save({ term: 1, vote: 2, commit: 0 }, entries(1, 10), true);
    w.save({ term: 1, vote: 2, commit: 10 }, entries(11, 20), true);
    w.close();
    const { wal, contents, repaired } = Wal.open(dir, opts);
    assert.equal(repaired, undefined);
    assert.deepEqual(contents.metadata, new Uint8Array([7, 7]));
    assert.deepEqual(contents.hardState, { term: 1, vote: 2, commit: 10 });
    assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, 20));
    assert.equal(wal.lastIndex, 20);
    // Appends continue where the log ended, across another reopen.
    wal.save(undefined, entries(21, 25), true);
    wal.close();
    const again = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(again.contents, { index: 0, term: 0 }), entries(1, 25));
    assert.deepEqual(again.contents.hardState, { term: 1, vote: 2, commit: 10 });
    again.wal.close();
  } finally {
    cleanup();
  }
});

test('an entry rewritten at an existing index replaces it and everything after it', () => {
  const { dir, cleanup } = scratchDir('overwrite');
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    w.save(undefined, entries(1, 10, 1), false);
    w.save({ term: 2, vote: 0, commit: 5 }, entries(6, 7, 2), false);
    w.close();
    const { wal, contents } = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), [...entries(1, 5, 1), ...entries(6, 7, 2)]);
    wal.close();
  } finally {
    cleanup();
  }
});

test('replay from a snapshot marker skips covered entries and allows the log to jump past its end', () => {
  const { dir, cleanup } = scratchDir('marker');
  try {
    const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const w = Wal.create(dir, new Uint8Array(0), opts);
    w.save(undefined, entries(1, 10), false);
    w.saveSnapshot({ index: 50, term: 3, confState: cs }); // e.g. a snapshot received from the leader
    w.save(undefined, entries(51, 52, 3), false);
    w.close();
    const { wal, contents } = Wal.open(dir, opts);
    assert.deepEqual(contents.snapshots.map((s) => s.index), [0, 50]);
    assert.deepEqual(entriesAfter(contents, { index: 50, term: 3 }), entries(51, 52, 3));
    // Without the snapshot the log has a hole, which is reported rather than papered over.
    assert.throws(() => entriesAfter(contents, { index: 0, term: 0 }), /gap/);
    assert.throws(() => entriesAfter(contents, { index: 40, term: 3 }), /no snapshot marker/);
    wal.close();
  } finally {
    cleanup();
  }
});

test('mustSync=false does not fdatasync; mustSync=true does once per save', () => {
  const { dir, cleanup } = scratchDir('sync');
  try {
    const durations: number[] = [];
    const w = Wal.create(dir, new Uint8Array(0), { segmentBytes: 1 << 20, fsync: true, preallocate: false, onSync: (s) => durations.push(s) });
    const base = w.syncs;
    assert.equal(durations.length, base);
    for (let i = 1; i <= 20; i++) w.save({ term: 1, vote: 0, commit: i - 1 }, entries(i, i), false);
    assert.equal(w.syncs, base);
    w.save({ term: 1, vote: 0, commit: 20 }, entries(21, 21), true);
    assert.equal(w.syncs, base + 1);
    w.save(undefined, [], true); // nothing to write: nothing to sync
    assert.equal(w.syncs, base + 1);
    assert.equal(durations.length, base + 1); // every sync is reported for metrics
    assert.ok(durations.every((d) => d >= 0));
    w.close();
  } finally {
    cleanup();
  }
});

test('creating a WAL where one exists is refused', () => {
  const { dir, cleanup } = scratchDir('exists');
  try {
    Wal.create(dir, new Uint8Array(0), opts).close();
    assert.equal(Wal.exists(dir), true);
    assert.throws(() => Wal.create(dir, new Uint8Array(0), opts), /already exists/);
  } finally {
    cleanup();
  }
});
