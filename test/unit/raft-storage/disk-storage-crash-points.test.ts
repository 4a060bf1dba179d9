// etcd's persist order, crash by crash: a crash after any step of persisting a received snapshot or
// taking a local one leaves a directory that reopens either to the state before the step or to a
// state Raft accepts after it (commit within [snapshot index, last index]), and keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import type { Entry, HardState } from '../../../manager/raft/core/types.js';
import { DiskStorage, type PersistStep, type RecoveryEvent } from '../../../manager/raft/disk-storage.js';
import { entries, scratchDir } from './helpers.js';

class Crash extends Error {}

interface Seen {
  hardState: HardState;
  snapIndex: number;
  lastIndex: number;
  tail: Entry[];
}

function look(m: MemoryStorage): Seen {
  const first = m.firstIndex();
  return {
    hardState: m.hardState(),
    snapIndex: m.snapshot().metadata.index,
    lastIndex: m.lastIndex(),
    tail: m.lastIndex() >= first ? m.entries(first, m.lastIndex() + 1, Number.MAX_SAFE_INTEGER) : [],
  };
}

function assertRaftAccepts(m: MemoryStorage, where: string): void {
  const hs = m.hardState();
  const snap = m.snapshot().metadata;
  assert.ok(hs.commit >= snap.index, `${where}: commit ${hs.commit} < snapshot ${snap.index}`);
  assert.ok(hs.commit <= m.lastIndex(), `${where}: commit ${hs.commit} > last index ${m.lastIndex()}`);
  assert.ok(hs.term >= snap.term, `${where}: term ${hs.term} < snapshot term ${snap.term}`);
}

/** A node with entries 1..40 (term 2), commit 40, and a local snapshot at 20. */
function prepare(dir: string, crashAt: { step?: PersistStep }): DiskStorage {
  const ds = DiskStorage.openSync(dir, {
    segmentBytes: 2048, fsync: false, preallocate: false,
    crashPoint: (step) => { if (step === crashAt.step) throw new Crash(step); },
  });
  ds.bootstrap([1, 2, 3]);
  ds.saveSync({ hardState: { term: 2, vote: 1, commit: 40 }, entries: entries(1, 40, 2), mustSync: true });
  ds.createSnapshot(20, undefined, new Uint8Array([20]));
  return ds;
}

function reopen(dir: string, events: RecoveryEvent[]): DiskStorage {
  return DiskStorage.openSync(dir, { segmentBytes: 2048, fsync: false, preallocate: false, onRecovery: (e) => events.push(e) });
}

/** After any recovery the storage keeps working: append, restart, same contents. */
function keepsWorking(ds: DiskStorage, dir: string, where: string): void {
  const hs = ds.storage.hardState();
  const from = ds.storage.lastIndex() + 1;
  ds.saveSync({ hardState: { ...hs, commit: from + 2 }, entries: entries(from, from + 2, hs.term), mustSync: true });
  const expect = look(ds.storage);
  ds.close();
  const again = reopen(dir, []);
  assert.deepEqual(look(again.storage), expect, `${where}: after more writes`);
  again.close();
}

const cs = { voters: [1, 2, 3, 4], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

for (const step of ['snapshot-file', 'wal-snapshot-marker', 'wal-save'] as const) {
  test(`a crash after '${step}' while persisting a snapshot received from the leader recovers consistently`, () => {
    const { dir, cleanup } = scratchDir(`crash-recv-${step}`);
    const crashAt: { step?: PersistStep } = {};
    try {
      const ds = prepare(dir, crashAt);
      const before = look(ds.storage);
      crashAt.step = step;
      assert.throws(() => ds.saveSync({
        snapshot: { data: new Uint8Array([5]), metadata: { index: 500, term: 9, confState: cs } },
        hardState: { term: 9, vote: 0, commit: 500 }, entries: [], mustSync: true,
      }), Crash);
      ds.close();
      const events: RecoveryEvent[] = [];
      const after = reopen(dir, events);
      const seen = look(after.storage);
      assertRaftAccepts(after.storage, step);
      if (step === 'snapshot-file') {
        // An orphan .snap file without its WAL marker is ignored: the state from before (restarted
        // memory starts at the snapshot, the running one had not been compacted).
        assert.deepEqual(seen, { ...before, tail: before.tail.filter((e) => e.index > before.snapIndex) });
      } else {
        assert.equal(seen.snapIndex, 500);
        assert.deepEqual(seen.hardState, { term: 9, vote: 0, commit: 500 });
        assert.deepEqual(after.storage.initialState().confState, cs);
        // Only the crash before the hard state reached the WAL needs the hard state raised.
        assert.deepEqual(events.map((e) => e.kind), step === 'wal-snapshot-marker' ? ['hard-state-raised'] : []);
      }
      keepsWorking(after, dir, step);
    } finally {
      cleanup();
    }
  });
}

for (const step of ['snapshot-file', 'wal-snapshot-marker'] as const) {
  test(`a crash after '${step}' while taking a local snapshot recovers consistently`, () => {
    const { dir, cleanup } = scratchDir(`crash-local-${step}`);
    const crashAt: { step?: PersistStep } = {};
    try {
      const ds = prepare(dir, crashAt);
      const before = look(ds.storage);
      crashAt.step = step;
      assert.throws(() => ds.createSnapshot(30, undefined, new Uint8Array([30])), Crash);
      ds.close();
      const after = reopen(dir, []);
      const seen = look(after.storage);
      assertRaftAccepts(after.storage, step);
      assert.deepEqual(seen.hardState, before.hardState);
      assert.equal(seen.lastIndex, 40);
      assert.equal(seen.snapIndex, step === 'snapshot-file' ? 20 : 30);
      assert.deepEqual(seen.tail, before.tail.filter((e) => e.index > seen.snapIndex));
      keepsWorking(after, dir, step);
    } finally {
      cleanup();
    }
  });
}
