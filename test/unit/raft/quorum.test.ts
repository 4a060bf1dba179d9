import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  jointCommittedIndex, jointVoteResult, majorityCommittedIndex, majorityVoteResult, UNBOUNDED_INDEX,
} from '../../../manager/raft/core/quorum.js';
import { seededRandom } from '../../../manager/raft/core/types.js';

const acked = (m: Record<number, number>) => (id: number) => m[id];

/** The obvious definition: the largest index i such that a majority has acked >= i. */
function naiveCommitted(voters: number[], m: Record<number, number>): number {
  if (voters.length === 0) return UNBOUNDED_INDEX;
  let best = 0;
  for (const cand of voters.map((v) => m[v] ?? 0)) {
    const n = voters.filter((v) => (m[v] ?? 0) >= cand).length;
    if (n > voters.length / 2) best = Math.max(best, cand);
  }
  return best;
}

test('majority committed index is the highest index acked by a quorum, matching a naive definition on random inputs', () => {
  assert.equal(majorityCommittedIndex(new Set([1, 2, 3]), acked({ 1: 5, 2: 3, 3: 1 })), 3);
  assert.equal(majorityCommittedIndex(new Set([1, 2, 3]), acked({ 1: 5 })), 0);
  assert.equal(majorityCommittedIndex(new Set([1, 2, 3, 4]), acked({ 1: 5, 2: 5, 3: 2, 4: 1 })), 2);
  const rnd = seededRandom(7);
  for (let k = 0; k < 500; k++) {
    const n = 1 + rnd(7);
    const voters = Array.from({ length: n }, (_, i) => i + 1);
    const m: Record<number, number> = {};
    for (const v of voters) if (rnd(4) > 0) m[v] = rnd(10);
    assert.equal(majorityCommittedIndex(new Set(voters), acked(m)), naiveCommitted(voters, m));
  }
});

test('an empty majority config commits anything (so a joint min ignores it) and wins every vote', () => {
  assert.equal(majorityCommittedIndex(new Set(), acked({})), UNBOUNDED_INDEX);
  assert.equal(majorityVoteResult(new Set(), new Map()), 'won');
});

test('majority vote: won with a quorum of yes, lost once a quorum is impossible, pending otherwise', () => {
  const v = new Set([1, 2, 3]);
  assert.equal(majorityVoteResult(v, new Map([[1, true]])), 'pending');
  assert.equal(majorityVoteResult(v, new Map([[1, true], [2, true]])), 'won');
  assert.equal(majorityVoteResult(v, new Map([[1, true], [2, false]])), 'pending');
  assert.equal(majorityVoteResult(v, new Map([[1, false], [2, false]])), 'lost');
});

test('joint config commits the minimum of both halves and needs both halves to win a vote', () => {
  const c = { incoming: new Set([1, 2, 3]), outgoing: new Set([3, 4, 5]) };
  assert.equal(jointCommittedIndex(c, acked({ 1: 9, 2: 9, 3: 4, 4: 2, 5: 1 })), 2);
  assert.equal(jointVoteResult(c, new Map([[1, true], [2, true]])), 'pending');
  assert.equal(jointVoteResult(c, new Map([[1, true], [2, true], [4, true], [5, true]])), 'won');
  assert.equal(jointVoteResult(c, new Map([[1, true], [2, true], [4, false], [5, false]])), 'lost');
  const simple = { incoming: new Set([1, 2, 3]), outgoing: new Set<number>() };
  assert.equal(jointCommittedIndex(simple, acked({ 1: 4, 2: 4 })), 4);
});
