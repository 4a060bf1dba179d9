import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog } from '../../../manager/raft/core/log.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { CompactedError, EntryType, type Entry } from '../../../manager/raft/core/types.js';

const ent = (index: number, term: number, data = ''): Entry => ({ index, term, type: EntryType.Normal, data: new TextEncoder().encode(data) });
const terms = (es: Entry[]): string => es.map((e) => `${e.index}@${e.term}`).join(' ');

function logWith(stable: Entry[], unstable: Entry[] = []): RaftLog {
  const s = new MemoryStorage();
  s.append(stable);
  const l = new RaftLog(s, Number.MAX_SAFE_INTEGER);
  l.append(unstable);
  return l;
}

test('log: §5.3 maybeAppend rejects a mismatching prev, appends new entries and truncates a conflicting suffix', () => {
  const l = logWith([ent(1, 1), ent(2, 2), ent(3, 3)]);
  assert.equal(l.maybeAppend(3, 2, 3, [ent(4, 4)]), undefined, 'prev term mismatch');
  assert.equal(l.maybeAppend(3, 3, 2, [ent(4, 4)]), 4);
  assert.equal(l.committed, 2);
  assert.equal(l.maybeAppend(2, 2, 2, [ent(3, 4), ent(4, 4)]), 4);
  assert.equal(terms(l.allEntries()), '1@1 2@2 3@4 4@4');
  assert.equal(l.maybeAppend(1, 1, 2, [ent(2, 2)]), 2, 'a matching prefix does not truncate');
  assert.equal(terms(l.allEntries()), '1@1 2@2 3@4 4@4');
});

test('log: truncating a committed entry is an invariant violation', () => {
  const l = logWith([ent(1, 1), ent(2, 1)]);
  l.commitTo(2);
  assert.throws(() => l.maybeAppend(1, 1, 2, [ent(2, 2)]), /conflicts with committed/);
});

test('log: findConflictByTerm skips whole terms above the hint term', () => {
  const l = logWith([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 5), ent(6, 5)]);
  assert.deepEqual(l.findConflictByTerm(6, 4), { index: 4, term: 2 });
  assert.deepEqual(l.findConflictByTerm(6, 1), { index: 2, term: 1 });
  assert.deepEqual(l.findConflictByTerm(6, 5), { index: 6, term: 5 });
  assert.deepEqual(l.findConflictByTerm(6, 0), { index: 0, term: 0 });
});

test('log: §5.4.1 isUpToDate compares last term first, then index', () => {
  const l = logWith([ent(1, 1), ent(2, 2)]);
  assert.equal(l.isUpToDate(1, 3), true);
  assert.equal(l.isUpToDate(5, 1), false);
  assert.equal(l.isUpToDate(2, 2), true);
  assert.equal(l.isUpToDate(1, 2), false);
});

test('log: §5.4.2 maybeCommit only commits an entry of the given (current) term', () => {
  const l = logWith([ent(1, 1), ent(2, 2)]);
  assert.equal(l.maybeCommit(2, 3), false);
  assert.equal(l.maybeCommit(2, 2), true);
  assert.equal(l.committed, 2);
});

test('log: reads span storage and the unstable tail; compacted reads throw CompactedError', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
  s.compact(2);
  const l = new RaftLog(s, Number.MAX_SAFE_INTEGER);
  l.append([ent(4, 2), ent(5, 2)]);
  assert.equal(l.firstIndex(), 3);
  assert.equal(l.term(2), 1, 'the term before firstIndex is kept');
  assert.throws(() => l.term(1), CompactedError);
  assert.equal(terms(l.slice(3, 6, Number.MAX_SAFE_INTEGER)), '3@1 4@2 5@2');
  assert.throws(() => l.slice(2, 4, 100), CompactedError);
  assert.equal(l.entries(4, 0).length, 1, 'size limit still returns one entry');
});

test('log: committed entries are handed out once, paginated by size, and may be unstable (sync mode)', () => {
  const s = new MemoryStorage();
  const l = new RaftLog(s, 40);
  l.append([ent(1, 1, 'aaaaaaaaaa'), ent(2, 1, 'bbbbbbbbbb'), ent(3, 1, 'cccccccccc')]);
  l.commitTo(3);
  const first = l.nextCommittedEnts(true);
  assert.equal(terms(first), '1@1', 'each entry is 26 bytes: only one fits in 40');
  l.acceptApplying(1, 26, true);
  assert.equal(l.hasNextCommittedEnts(true), false, 'paused until applied');
  l.appliedTo(1, 26);
  assert.equal(terms(l.nextCommittedEnts(true)), '2@1');
  assert.equal(l.nextCommittedEnts(false).length, 0, 'unstable entries are not appliable without allowUnstable');
});
