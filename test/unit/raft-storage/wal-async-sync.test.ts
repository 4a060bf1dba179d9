// The deferred sync: write() frames and writes a Ready's records and says whether an fdatasync is
// owed; syncAsync() runs it on the thread pool. No write may overlap it, close() during it waits for
// it, and what was written comes back after reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entriesAfter } from '../../../manager/raft/wal/reader.js';
import { Wal } from '../../../manager/raft/wal/wal.js';
import { entries, scratchDir } from './helpers.js';

const opts = { segmentBytes: 1 << 20, fsync: true, preallocate: false };

test('write owes a sync only when asked; syncAsync performs exactly one', async () => {
  const { dir, cleanup } = scratchDir('async-sync');
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    const base = w.syncs;
    assert.equal(w.write({ term: 1, vote: 1, commit: 0 }, entries(1, 5), false), false);
    assert.equal(w.write(undefined, [], true), false, 'nothing written, nothing owed');
    assert.equal(w.write({ term: 1, vote: 1, commit: 5 }, entries(6, 6), true), true);
    assert.equal(w.syncs, base);
    await w.syncAsync();
    assert.equal(w.syncs, base + 1);
    w.close();
    const { wal, contents } = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, 6));
    assert.deepEqual(contents.hardState, { term: 1, vote: 1, commit: 5 });
    wal.close();
  } finally {
    cleanup();
  }
});

test('a write while a sync is in flight is refused; close during the sync waits for it', async () => {
  const { dir, cleanup } = scratchDir('async-overlap');
  try {
    const w = Wal.create(dir, new Uint8Array(0), opts);
    assert.equal(w.write({ term: 2, vote: 1, commit: 0 }, entries(1, 3, 2), true), true);
    const p = w.syncAsync();
    assert.throws(() => w.write(undefined, entries(4, 4, 2), false), /sync is in flight/);
    w.close(); // the fd stays open for the sync and is closed when it completes
    await p;
    assert.throws(() => w.write(undefined, entries(4, 4, 2), false), /closed/);
    const { wal, contents } = Wal.open(dir, opts);
    assert.deepEqual(entriesAfter(contents, { index: 0, term: 0 }), entries(1, 3, 2));
    wal.close();
  } finally {
    cleanup();
  }
});
