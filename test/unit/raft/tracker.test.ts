import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restoreConfState } from '../../../manager/raft/core/confchange.js';
import { ProgressTracker } from '../../../manager/raft/core/tracker.js';

function tracker(voters: number[], learners: number[] = [], outgoing: number[] = []): ProgressTracker {
  const t = new ProgressTracker(8, 0);
  const r = restoreConfState({ voters, learners, votersOutgoing: outgoing, learnersNext: [], autoLeave: false }, 10, 8, 0);
  t.config = r.config;
  t.progress = r.progress;
  return t;
}

test('tracker: committed is the quorum match over voters only (learners do not count)', () => {
  const t = tracker([1, 2, 3], [4]);
  const set = (id: number, m: number) => { (t.progress.get(id) as { match: number }).match = m; };
  set(1, 9); set(2, 5); set(3, 1); set(4, 100);
  assert.equal(t.committed(), 5);
});

test('tracker: quorumActive needs a majority of recently active voters in both halves', () => {
  const t = tracker([1, 2, 3], [], [3, 4, 5]);
  for (const pr of t.progress.values()) pr.recentActive = false;
  for (const id of [1, 2]) (t.progress.get(id) as { recentActive: boolean }).recentActive = true;
  assert.equal(t.quorumActive(), false, 'outgoing half {3,4,5} has none');
  (t.progress.get(4) as { recentActive: boolean }).recentActive = true;
  (t.progress.get(5) as { recentActive: boolean }).recentActive = true;
  assert.equal(t.quorumActive(), true);
});

test('tracker: the vote tally counts the first vote of each voter and ignores learners', () => {
  const t = tracker([1, 2, 3], [4]);
  t.recordVote(1, true);
  t.recordVote(4, true);
  assert.deepEqual(t.tallyVotes(), { granted: 1, rejected: 0, result: 'pending' });
  t.recordVote(2, false);
  t.recordVote(2, true);
  assert.deepEqual(t.tallyVotes(), { granted: 1, rejected: 1, result: 'pending' });
  t.recordVote(3, true);
  assert.equal(t.tallyVotes().result, 'won');
  assert.equal(t.isSingleton(), false);
  assert.deepEqual(t.voterIds(), [1, 2, 3]);
});
