import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../manager/raft/core/types.js';

test('seeded random: the same seed gives the same sequence, in range', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 100 }, () => a(10));
  const ys = Array.from({ length: 100 }, () => b(10));
  assert.deepEqual(xs, ys);
  assert.ok(xs.every((x) => x >= 0 && x < 10));
  assert.ok(new Set(xs).size > 5);
});
