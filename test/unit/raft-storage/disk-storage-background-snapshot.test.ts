// Snapshots written in the background (createSnapshotAsync): the memory storage has the snapshot at
// once, the file reaches the disk off the event loop, and only then does its WAL marker make it the
// one a restart loads and let old WAL segments go. A restart before the marker ignores the file and
// still recovers every entry from the WAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DiskStorage } from '../../../manager/raft/disk-storage.js';
import { entries, scratchDir } from './helpers.js';

const opts = { segmentBytes: 4096, fsync: true, preallocate: false };

function fill(ds: DiskStorage, from: number, to: number): void {
  for (let i = from; i <= to; i += 10) {
    ds.saveSync({ hardState: { term: 1, vote: 1, commit: Math.min(to, i + 9) }, entries: entries(i, Math.min(to, i + 9), 1, 40), mustSync: true });
  }
}

test('a background snapshot is in memory at once, on disk when it settles, and is what a restart loads', async () => {
  const { dir, cleanup } = scratchDir('bg-snap');
  try {
    const ds = await DiskStorage.open(dir, opts);
    ds.bootstrap([1]);
    fill(ds, 1, 300);
    const segsBefore = ds.walSegments().length;
    assert.ok(segsBefore > 3);
    const p = ds.createSnapshotAsync(250, undefined, new TextEncoder().encode('state@250'));
    assert.equal(ds.storage.snapshot().metadata.index, 250, 'memory has it before the file is written');
    ds.compact(240);
    await p;
    assert.deepEqual(readdirSync(join(dir, 'snap')).filter((n) => n.endsWith('.snap')).length, 1);
    assert.ok(ds.walSegments().length < segsBefore, 'segments wholly below the snapshot were released');
    ds.close();
    const again = await DiskStorage.open(dir, opts);
    assert.equal(again.storage.snapshot().metadata.index, 250);
    assert.equal(new TextDecoder().decode(again.storage.snapshot().data), 'state@250');
    assert.equal(again.storage.lastIndex(), 300);
    assert.deepEqual(again.storage.entries(251, 301, Infinity), entries(251, 300, 1, 40));
    again.close();
  } finally {
    cleanup();
  }
});

test('while a WAL sync is in flight the marker waits for the next save; a restart before it ignores the file', async () => {
  const { dir, cleanup } = scratchDir('bg-snap-pending');
  try {
    const ds = await DiskStorage.open(dir, opts);
    ds.bootstrap([1]);
    fill(ds, 1, 100);
    // A save whose fdatasync is on the thread pool when the snapshot file completes.
    const snap = ds.createSnapshotAsync(90, undefined, new TextEncoder().encode('state@90'));
    const save = ds.save({ hardState: { term: 1, vote: 1, commit: 105 }, entries: entries(101, 105, 1, 40), mustSync: true });
    await Promise.all([snap, save]);
    // Simulate a crash now (no further save): reopen the directory from a second instance.
    const crashed = await DiskStorage.open(dir, opts);
    const idx = crashed.storage.snapshot().metadata.index;
    assert.ok(idx === 0 || idx === 90, `snapshot index ${idx}`);
    assert.equal(crashed.storage.lastIndex(), 105);
    assert.deepEqual(crashed.storage.entries(91, 106, Infinity), entries(91, 105, 1, 40));
    crashed.close();
    // The next save writes the marker; from then on the snapshot is the one loaded.
    await ds.save({ hardState: { term: 1, vote: 1, commit: 110 }, entries: entries(106, 110, 1, 40), mustSync: true });
    ds.close();
    const again = await DiskStorage.open(dir, opts);
    assert.equal(again.storage.snapshot().metadata.index, 90);
    assert.equal(again.storage.lastIndex(), 110);
    again.close();
  } finally {
    cleanup();
  }
});
