// DiskStorage: what a node persisted through save/createSnapshot comes back after a restart as the
// same memory-storage contents (snapshot, entries, terms, hard state, configuration), including
// after a snapshot received from a leader, a torn WAL tail, and a corrupt newest snapshot file.
// The suite runs against any MemoryStorage-shaped class (the core's, and a stand-in).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DiskStorage, type MemoryStorageClass, type MemoryStorageLike, type RecoveryEvent,
} from '../../../manager/raft/disk-storage.js';
import { readFrame } from '../../../manager/raft/wal/record.js';
import { entries, scratchDir } from './helpers.js';


/** Everything the RawNode can read from a storage, over the index range both storages hold. */
function assertSameContents(a: MemoryStorageLike, b: MemoryStorageLike): void {
  assert.deepEqual(b.initialState(), a.initialState());
  assert.deepEqual(b.snapshot(), a.snapshot());
  assert.equal(b.lastIndex(), a.lastIndex());
  const first = Math.max(a.firstIndex(), b.firstIndex());
  for (let i = first - 1; i <= a.lastIndex(); i++) assert.equal(b.term(i), a.term(i), `term(${i})`);
  if (a.lastIndex() >= first) {
    assert.deepEqual(b.entries(first, a.lastIndex() + 1, Number.MAX_SAFE_INTEGER), a.entries(first, a.lastIndex() + 1, Number.MAX_SAFE_INTEGER));
  }
}

/** A node's life: bootstrap, many batches, a snapshot + compaction, more batches. */
function runNode(ds: DiskStorage<MemoryStorageLike>, upTo: number, snapshotAt: number[]): void {
  let term = Math.max(1, ds.storage.hardState().term);
  for (let i = ds.storage.lastIndex() + 1; i <= upTo; i += 7) {
    if (i % 50 < 7) term++;
    const last = Math.min(upTo, i + 6);
    ds.saveSync({ hardState: { term, vote: 1, commit: i - 1 }, entries: entries(i, last, term, 24), mustSync: true });
    for (const s of snapshotAt) {
      if (s >= i && s <= last) {
        ds.createSnapshot(s, undefined, new TextEncoder().encode(`app state @${s}`));
        ds.compact(s - 5);
      }
    }
  }
}

export function diskStorageSuite(label: string, memory: MemoryStorageClass<MemoryStorageLike>): void {
  const base = { segmentBytes: 4096, fsync: false, preallocate: false, memory };

  test(`${label}: bootstrap, entries and hard state survive a restart without any snapshot`, async () => {
    const { dir, cleanup } = scratchDir('ds-boot');
    try {
      const ds = await DiskStorage.open(dir, base);
      assert.equal(ds.isNew(), true);
      ds.bootstrap([1, 2, 3], [4]);
      runNode(ds, 40, []);
      ds.close();
      const again = await DiskStorage.open(dir, base);
      assert.equal(again.isNew(), false);
      assert.deepEqual(again.storage.initialState().confState.voters, [1, 2, 3]);
      assert.deepEqual(again.storage.initialState().confState.learners, [4]);
      assertSameContents(ds.storage, again.storage);
      again.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: restart from snapshot + WAL gives the same memory storage, and old segments are released`, async () => {
    const { dir, cleanup } = scratchDir('ds-snap');
    try {
      const ds = await DiskStorage.open(dir, { ...base, keepSnapshots: 2 });
      ds.bootstrap([1, 2, 3]);
      runNode(ds, 300, [100, 200, 280]);
      const segs = ds.walSegments();
      ds.close();
      assert.equal(readdirSync(join(dir, 'snap')).length, 2);
      // Segments wholly below the oldest kept snapshot (200) are gone.
      assert.ok(Number.parseInt(segs[0]!.slice(17, 33), 16) <= 200, `first kept segment ${segs[0]}`);
      assert.ok(segs.length < 20);
      const again = await DiskStorage.open(dir, base);
      assert.equal(again.storage.snapshot().metadata.index, 280);
      assertSameContents(ds.storage, again.storage);
      // It keeps working after the restart, and a second restart agrees too.
      runNode(again, 330, [320]);
      again.close();
      const third = await DiskStorage.open(dir, base);
      assertSameContents(again.storage, third.storage);
      third.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: a snapshot received from the leader is persisted before the entries that follow it`, async () => {
    const { dir, cleanup } = scratchDir('ds-recv');
    try {
      const ds = await DiskStorage.open(dir, base);
      ds.bootstrap([1, 2]);
      runNode(ds, 20, []);
      const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
      await ds.save({
        snapshot: { data: new Uint8Array([1, 2, 3]), metadata: { index: 500, term: 9, confState: cs } },
        hardState: { term: 9, vote: 0, commit: 500 },
        entries: [],
        mustSync: true,
      });
      await ds.save({ hardState: { term: 9, vote: 0, commit: 505 }, entries: entries(501, 510, 9), mustSync: true });
      ds.close();
      const again = await DiskStorage.open(dir, base);
      assert.deepEqual(again.storage.initialState().confState, cs);
      assertSameContents(ds.storage, again.storage);
      again.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: a torn WAL tail is repaired on restart and reported; the acknowledged prefix is intact`, async () => {
    const { dir, cleanup } = scratchDir('ds-torn');
    try {
      const ds = await DiskStorage.open(dir, base);
      ds.bootstrap([1]);
      runNode(ds, 60, []);
      ds.close();
      const walDir = join(dir, 'wal');
      const last = readdirSync(walDir).filter((n) => n.endsWith('.wal')).sort().pop()!;
      const buf = readFileSync(join(walDir, last));
      let end = 0;
      for (let f = readFrame(buf, 0); f.kind === 'record'; f = readFrame(buf, f.next)) end = f.next;
      writeFileSync(join(walDir, last), buf.subarray(0, end - 3)); // a crash in the middle of the last write
      const events: RecoveryEvent[] = [];
      const again = await DiskStorage.open(dir, { ...base, onRecovery: (e) => events.push(e) });
      assert.deepEqual(events.map((e) => e.kind), ['wal-torn-tail']);
      assert.equal(again.storage.lastIndex(), 60); // the torn record was the hard state of the last batch
      assert.deepEqual(again.storage.entries(1, 61, Number.MAX_SAFE_INTEGER), ds.storage.entries(1, 61, Number.MAX_SAFE_INTEGER));
      again.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: a corrupt newest snapshot file falls back to the older one and replays more of the WAL`, async () => {
    const { dir, cleanup } = scratchDir('ds-badsnap');
    try {
      const ds = await DiskStorage.open(dir, { ...base, keepSnapshots: 3 });
      ds.bootstrap([1, 2, 3]);
      runNode(ds, 200, [100, 150]);
      ds.close();
      const snapDir = join(dir, 'snap');
      const newest = readdirSync(snapDir).sort().pop()!;
      const buf = readFileSync(join(snapDir, newest));
      buf[buf.length - 1]! ^= 0xff;
      writeFileSync(join(snapDir, newest), buf);
      const events: RecoveryEvent[] = [];
      const again = await DiskStorage.open(dir, { ...base, onRecovery: (e) => events.push(e) });
      assert.deepEqual(events.map((e) => e.kind), ['snapshot-broken']);
      assert.equal(again.storage.snapshot().metadata.index, 100);
      assert.deepEqual(again.storage.hardState(), ds.storage.hardState());
      assert.equal(again.storage.lastIndex(), 200);
      assert.deepEqual(again.storage.entries(151, 201, Number.MAX_SAFE_INTEGER), ds.storage.entries(151, 201, Number.MAX_SAFE_INTEGER));
      assert.deepEqual(again.storage.entries(101, 151, Number.MAX_SAFE_INTEGER), entries(101, 150, 0, 24).map((e) => ({ ...e, term: again.storage.term(e.index) })));
      again.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: mustSync=false persists without fdatasync; mustSync=true syncs`, async () => {
    const { dir, cleanup } = scratchDir('ds-sync');
    try {
      const ds = await DiskStorage.open(dir, { ...base, fsync: true, segmentBytes: 1 << 20 });
      ds.bootstrap([1]);
      const before = ds.walSyncs;
      await ds.save({ entries: entries(1, 5), mustSync: false });
      assert.equal(ds.walSyncs, before);
      await ds.save({ hardState: { term: 1, vote: 1, commit: 5 }, entries: entries(6, 6), mustSync: true });
      assert.equal(ds.walSyncs, before + 1);
      ds.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: bootstrap is refused on a storage that already holds state`, async () => {
    const { dir, cleanup } = scratchDir('ds-reboot');
    try {
      const ds = await DiskStorage.open(dir, base);
      ds.bootstrap([1]);
      assert.throws(() => ds.bootstrap([1]), /only allowed on a new/);
      ds.close();
      const again = await DiskStorage.open(dir, base);
      assert.equal(again.isNew(), false);
      assert.throws(() => again.bootstrap([1]), /only allowed on a new/);
      again.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: a storage created but never written (crash before bootstrap) is still new, and bootstraps`, async () => {
    const { dir, cleanup } = scratchDir('ds-unwritten');
    try {
      (await DiskStorage.open(dir, base)).close();
      const again = await DiskStorage.open(dir, base);
      assert.equal(again.isNew(), true);
      again.bootstrap([7, 8]);
      again.close();
      const third = await DiskStorage.open(dir, base);
      assert.equal(third.isNew(), false);
      assert.deepEqual(third.storage.initialState().confState.voters, [7, 8]);
      third.close();
    } finally {
      cleanup();
    }
  });

  test(`${label}: a newer .snap file without a WAL marker (crash between file and marker) is ignored on restart`, async () => {
    const { dir, cleanup } = scratchDir('ds-keep1');
    try {
      const ds = await DiskStorage.open(dir, { ...base, keepSnapshots: 1 });
      ds.bootstrap([1]);
      runNode(ds, 120, [60]);
      ds.close();
      // Simulate the crash: a newer .snap file exists, but the WAL never got its marker.
      const again = await DiskStorage.open(dir, { ...base, keepSnapshots: 1 });
      const snapDir = join(dir, 'snap');
      const [only] = readdirSync(snapDir);
      const fake = only!.replace(/-[0-9a-f]{16}\.snap$/, `-${(100).toString(16).padStart(16, '0')}.snap`);
      writeFileSync(join(snapDir, fake), readFileSync(join(snapDir, only!)));
      again.close();
      const third = await DiskStorage.open(dir, { ...base, keepSnapshots: 1 });
      assert.equal(third.storage.snapshot().metadata.index, 60);
      assertSameContents(ds.storage, third.storage);
      third.close();
    } finally {
      cleanup();
    }
  });
}
