// Snapshot files: written durably under `term-index` names, loaded newest-first but only when the WAL
// has a marker for them; a corrupt newest file is set aside as `.broken` and the older one is used;
// only the newest few are kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Snapshot } from '../../../manager/raft/core/types.js';
import { Snapshotter } from '../../../manager/raft/snap/snapshotter.js';
import { scratchDir } from './helpers.js';

const cs = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const snap = (term: number, index: number): Snapshot => ({
  data: new TextEncoder().encode(`state at ${index}`),
  metadata: { term, index, confState: cs },
});
const marker = (s: Snapshot) => ({ index: s.metadata.index, term: s.metadata.term, confState: cs });

test('the newest snapshot with a WAL marker is loaded intact', () => {
  const { dir, cleanup } = scratchDir('snap-load');
  try {
    const s = new Snapshotter(dir, { fsync: false });
    s.init();
    const a = snap(1, 10), b = snap(2, 20), c = snap(2, 30);
    for (const x of [a, b, c]) s.save(x);
    assert.deepEqual(s.list(), ['0000000000000002-000000000000001e.snap', '0000000000000002-0000000000000014.snap', '0000000000000001-000000000000000a.snap']);
    assert.deepEqual(s.loadNewestAvailable([a, b, c].map(marker))?.snapshot, c);
    // The newest file has no marker (its WAL record was never written): the one before is used.
    assert.deepEqual(s.loadNewestAvailable([a, b].map(marker))?.snapshot, b);
    assert.equal(s.loadNewestAvailable([]), undefined);
  } finally {
    cleanup();
  }
});

test('a corrupt newest snapshot is renamed .broken and the older one is used', () => {
  const { dir, cleanup } = scratchDir('snap-corrupt');
  try {
    const s = new Snapshotter(dir, { fsync: false });
    s.init();
    const a = snap(1, 10), b = snap(1, 20);
    s.save(a);
    const fileB = s.save(b);
    const buf = readFileSync(fileB);
    buf[buf.length - 2]! ^= 0x10;
    writeFileSync(fileB, buf);
    const broken: string[] = [];
    const got = s.loadNewestAvailable([a, b].map(marker), (f) => broken.push(f));
    assert.deepEqual(got?.snapshot, a);
    assert.deepEqual(broken, [fileB]);
    assert.ok(existsSync(`${fileB}.broken`));
    assert.ok(!existsSync(fileB));
  } finally {
    cleanup();
  }
});

test('a truncated or renamed snapshot file is refused', () => {
  const { dir, cleanup } = scratchDir('snap-trunc');
  try {
    const s = new Snapshotter(dir, { fsync: false });
    s.init();
    const file = s.save(snap(3, 40));
    writeFileSync(file, readFileSync(file).subarray(0, 5));
    assert.throws(() => s.read('0000000000000003-0000000000000028.snap'), /snap/);
    const f2 = s.save(snap(3, 50));
    writeFileSync(join(dir, '0000000000000003-0000000000000033.snap'), readFileSync(f2));
    assert.throws(() => s.read('0000000000000003-0000000000000033.snap'), /does not match the name/);
  } finally {
    cleanup();
  }
});

test('purge keeps only the newest few files (saving alone never deletes), and init removes leftover .tmp files', () => {
  const { dir, cleanup } = scratchDir('snap-purge');
  try {
    const s = new Snapshotter(dir, { fsync: false, keep: 2 });
    s.init();
    for (let i = 1; i <= 5; i++) s.save(snap(1, i * 10));
    assert.equal(s.list().length, 5);
    assert.deepEqual(s.purge(), ['0000000000000001-000000000000001e.snap', '0000000000000001-0000000000000014.snap', '0000000000000001-000000000000000a.snap']);
    assert.equal(s.list().length, 2);
    writeFileSync(join(dir, '0000000000000001-0000000000000064.snap.tmp'), 'partial');
    s.init();
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
    assert.throws(() => s.save(snap(0, 0)), /empty snapshot/);
  } finally {
    cleanup();
  }
});
