import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations } from '../../lin/check-operations.js';
import { kvModel } from '../../lin/kv-model.js';
import { get } from './history-helpers.js';

// 16 mutually concurrent reads of nil plus one concurrent read of a value never written. Every
// order of the 16 reads is consistent and leads to the same state, so a plain Wing–Gong search
// tries 16! orders before giving up, while Lowe's cache of (linearized set, state) sees at most
// 2^16 distinct configurations.
const history = [...Array.from({ length: 16 }, (_, i) => get(i, 0, 100, 'x', null)), get(99, 0, 100, 'x', 'ghost')];

test('with memoisation the pathological history is rejected within the step budget', () => {
  const r = checkOperations(kvModel(), history, { maxSteps: 3_000_000, timeoutMs: 60_000 });
  assert.equal(r.result, 'illegal');
});

test('without memoisation the same budget runs out and the checker answers unknown instead of hanging', () => {
  const r = checkOperations(kvModel(), history, { maxSteps: 3_000_000, timeoutMs: 60_000, memo: false });
  assert.ok(!r.ok && r.result === 'unknown', JSON.stringify(r));
  assert.match(r.reason, /step budget/);
});

test('a wall-clock budget also ends the search with unknown', () => {
  const r = checkOperations(kvModel(), history, { maxSteps: Number.MAX_SAFE_INTEGER, timeoutMs: 50, memo: false });
  assert.ok(!r.ok && r.result === 'unknown', JSON.stringify(r));
  assert.match(r.reason, /time budget/);
});
