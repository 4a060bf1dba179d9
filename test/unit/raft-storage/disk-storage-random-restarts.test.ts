// Property: whatever sequence of Ready-shaped writes a node makes (appends, suffix overwrites by a
// new leader, commits, local snapshots with compaction, snapshots received from a leader), closing
// and reopening DiskStorage at any point gives back the same storage contents. Seeded; small WAL
// segments so that cuts and segment releases happen often.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import type { Entry, HardState } from '../../../manager/raft/core/types.js';
import { seededRandom } from '../../../manager/raft/core/types.js';
import { DiskStorage } from '../../../manager/raft/disk-storage.js';
import { scratchDir } from './helpers.js';

const opts = { segmentBytes: 1024, fsync: false, preallocate: false, keepSnapshots: 2 };

function sameContents(a: MemoryStorage, b: MemoryStorage, where: string): void {
  assert.deepEqual(b.initialState(), a.initialState(), `${where}: initial state`);
  assert.deepEqual(b.snapshot(), a.snapshot(), `${where}: snapshot`);
  assert.equal(b.lastIndex(), a.lastIndex(), `${where}: last index`);
  const first = Math.max(a.firstIndex(), b.firstIndex());
  for (let i = first - 1; i <= a.lastIndex(); i++) assert.equal(b.term(i), a.term(i), `${where}: term(${i})`);
  if (a.lastIndex() >= first) {
    assert.deepEqual(b.entries(first, a.lastIndex() + 1, Number.MAX_SAFE_INTEGER), a.entries(first, a.lastIndex() + 1, Number.MAX_SAFE_INTEGER), `${where}: entries`);
  }
}

function run(seed: number, steps: number): void {
  const r = seededRandom(seed);
  const { dir, cleanup } = scratchDir(`ds-rand-${seed}`);
  try {
    let ds = DiskStorage.openSync(dir, opts);
    ds.bootstrap([1, 2, 3]);
    let term = 1;
    const counts = { restarts: 0, snapshots: 0, received: 0, overwrites: 0 };
    const payload = (i: number, t: number): Uint8Array => Uint8Array.from({ length: 1 + ((i * 7 + t) % 60) }, (_, k) => (i + k * t) & 0xff);
    for (let step = 0; step < steps; step++) {
      const m = ds.storage;
      const hs: HardState = m.hardState();
      const snapIndex = m.snapshot().metadata.index;
      const last = m.lastIndex();
      const op = r(100);
      const where = `seed ${seed} step ${step}`;
      if (op < 55) {
        // Append, sometimes overwriting an uncommitted suffix under a new term.
        let from = last + 1;
        if (op < 12 && last > Math.max(hs.commit, snapIndex)) {
          term++;
          counts.overwrites++;
          from = Math.max(hs.commit, snapIndex) + 1 + r(last - Math.max(hs.commit, snapIndex));
        }
        const n = 1 + r(12);
        const ents: Entry[] = [];
        for (let i = from; i < from + n; i++) ents.push({ term, index: i, type: r(10) === 0 ? 1 : 0, data: payload(i, term) });
        const commit = Math.min(from + n - 1, hs.commit + r(n + 2));
        ds.saveSync({ hardState: { term, vote: 1 + r(3), commit }, entries: ents, mustSync: r(2) === 0 });
      } else if (op < 70) {
        if (hs.commit > snapIndex) {
          const at = snapIndex + 1 + r(hs.commit - snapIndex);
          ds.createSnapshot(at, undefined, payload(at, 99));
          counts.snapshots++;
          const keep = at - r(10);
          if (keep >= ds.storage.firstIndex()) ds.compact(keep);
        }
      } else if (op < 75) {
        // A snapshot from the leader, past our log.
        term++;
        const at = last + 1 + r(50);
        const cs = { voters: [1, 2, 3, 4].slice(0, 2 + r(3)), learners: r(2) ? [9] : [], votersOutgoing: [], learnersNext: [], autoLeave: false };
        counts.received++;
        ds.saveSync({ snapshot: { data: payload(at, term), metadata: { index: at, term, confState: cs } }, hardState: { term, vote: 0, commit: at }, entries: [], mustSync: true });
      } else if (op < 85) {
        ds.saveSync({ hardState: { ...hs, commit: Math.min(last, hs.commit + r(5)) }, entries: [], mustSync: true });
      } else {
        ds.close();
        const again = DiskStorage.openSync(dir, opts);
        sameContents(ds.storage, again.storage, where);
        counts.restarts++;
        ds = again;
      }
    }
    // The run exercised what it claims to: restarts, both kinds of snapshot, overwrites, released segments.
    for (const [k, v] of Object.entries(counts)) assert.ok(v > 0, `${k}: ${v}`);
    assert.ok(!ds.walSegments().includes('0000000000000000-0000000000000000.wal'), 'old WAL segments were released');
    const before = ds.storage;
    ds.close();
    const final = DiskStorage.openSync(dir, opts);
    sameContents(before, final.storage, `seed ${seed} final`);
    final.close();
  } finally {
    cleanup();
  }
}

for (const seed of [1, 2, 3, 4]) {
  test(`random writes and restarts (seed ${seed}): every reopen restores the same storage`, () => run(seed, 400));
}
