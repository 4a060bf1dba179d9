import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, SnapshotOutOfDateError } from '../../../manager/raft/core/memory-storage.js';
import { CompactedError, EntryType, UnavailableError, type Entry } from '../../../manager/raft/core/types.js';

const ent = (index: number, term: number, n = 0): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array(n) });
const terms = (es: Entry[]): string => es.map((e) => `${e.index}@${e.term}`).join(' ');

test('memory storage: bootstrap puts the members in the index-0 ConfState of an empty log', () => {
  const s = MemoryStorage.bootstrap([3, 1, 2], [4]);
  const { hardState, confState } = s.initialState();
  assert.deepEqual(hardState, { term: 0, vote: 0, commit: 0 });
  assert.deepEqual(confState.voters, [1, 2, 3]);
  assert.deepEqual(confState.learners, [4]);
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
  assert.equal(s.term(0), 0);
});

test('memory storage: append truncates on overlap and refuses a gap', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
  s.append([ent(2, 2)]);
  assert.equal(terms(s.entries(1, 3, 1e9)), '1@1 2@2');
  assert.throws(() => s.append([ent(5, 2)]), /missing log entry/);
});

test('memory storage: compact keeps the entry at the index as the dummy (its term stays readable)', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 2), ent(3, 3)]);
  s.compact(2);
  assert.equal(s.firstIndex(), 3);
  assert.equal(s.term(2), 2);
  assert.throws(() => s.term(1), CompactedError);
  assert.throws(() => s.entries(2, 3, 1e9), CompactedError);
  assert.throws(() => s.term(4), UnavailableError);
  assert.throws(() => s.compact(2), CompactedError);
});

test('memory storage: entries respects maxSize but returns at least one entry', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1, 100), ent(2, 1, 100), ent(3, 1, 100)]);
  assert.equal(s.entries(1, 4, 0).length, 1);
  assert.equal(s.entries(1, 4, 250).length, 2);
  assert.equal(s.entries(1, 4, 1e9).length, 3);
});

test('memory storage: createSnapshot and applySnapshot replace the log; older snapshots are refused', () => {
  const s = MemoryStorage.bootstrap([1]);
  s.append([ent(1, 1), ent(2, 1), ent(3, 2)]);
  const snap = s.createSnapshot(2, undefined, new Uint8Array([9]));
  assert.equal(snap.metadata.term, 1);
  assert.deepEqual(snap.metadata.confState.voters, [1]);
  assert.throws(() => s.createSnapshot(1, undefined, new Uint8Array(0)), SnapshotOutOfDateError);
  const t = new MemoryStorage();
  t.append([ent(1, 1)]);
  t.applySnapshot(snap);
  assert.equal(t.firstIndex(), 3);
  assert.equal(t.lastIndex(), 2);
  assert.deepEqual(t.initialState().confState.voters, [1]);
  assert.throws(() => t.applySnapshot({ ...snap, metadata: { ...snap.metadata, index: 1 } }), SnapshotOutOfDateError);
});
