import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnstableLog } from '../../../manager/raft/core/log-unstable.js';
import { EntryType, type Entry, type Snapshot } from '../../../manager/raft/core/types.js';

const ent = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(0) });
const snap = (index: number, term: number): Snapshot => ({
  data: new Uint8Array(0),
  metadata: { index, term, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
});

test('unstable: terms come from entries or the snapshot; out-of-range is undefined', () => {
  const u = new UnstableLog(5);
  u.restore(snap(4, 1));
  u.truncateAndAppend([ent(5, 1), ent(6, 2)]);
  assert.equal(u.maybeTerm(4), 1);
  assert.equal(u.maybeTerm(6), 2);
  assert.equal(u.maybeTerm(7), undefined);
  assert.equal(u.maybeTerm(3), undefined);
  assert.equal(u.maybeFirstIndex(), 5);
  assert.equal(u.maybeLastIndex(), 6);
});

test('unstable: truncateAndAppend appends, replaces, or truncates the conflicting suffix', () => {
  const u = new UnstableLog(5);
  u.truncateAndAppend([ent(5, 1), ent(6, 1), ent(7, 1)]);
  u.truncateAndAppend([ent(8, 1)]);
  assert.deepEqual(u.entries.map((e) => e.index), [5, 6, 7, 8]);
  u.truncateAndAppend([ent(7, 2)]);
  assert.deepEqual(u.entries.map((e) => `${e.index}@${e.term}`), ['5@1', '6@1', '7@2']);
  u.truncateAndAppend([ent(4, 3)]);
  assert.equal(u.offset, 4);
  assert.deepEqual(u.entries.map((e) => `${e.index}@${e.term}`), ['4@3']);
});

test('unstable: accepted entries are not handed out again; stableTo drops them only if the term still matches', () => {
  const u = new UnstableLog(1);
  u.truncateAndAppend([ent(1, 1), ent(2, 1)]);
  assert.equal(u.nextEntries().length, 2);
  u.acceptInProgress();
  assert.equal(u.nextEntries().length, 0);
  u.truncateAndAppend([ent(2, 2), ent(3, 2)]); // overwrites 2 while it was being written
  assert.deepEqual(u.nextEntries().map((e) => e.index), [2, 3]);
  u.stableTo(2, 1); // the write of 2@1 completes: stale, ignored
  assert.equal(u.offset, 1);
  u.stableTo(1, 1);
  assert.equal(u.offset, 2);
  assert.deepEqual(u.entries.map((e) => `${e.index}@${e.term}`), ['2@2', '3@2']);
});

test('unstable: a snapshot is handed out once and cleared by stableSnapTo', () => {
  const u = new UnstableLog(1);
  u.restore(snap(10, 3));
  assert.equal(u.nextSnapshot()?.metadata.index, 10);
  u.acceptInProgress();
  assert.equal(u.nextSnapshot(), undefined);
  u.stableSnapTo(10);
  assert.equal(u.snapshot, undefined);
});
