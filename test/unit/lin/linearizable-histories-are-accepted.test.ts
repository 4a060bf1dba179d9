import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations } from '../../lin/check-operations.js';
import { kvModel } from '../../lin/kv-model.js';
import { cas, del, get, put } from './history-helpers.js';

test('a sequential history of put, get, delete and cas is linearizable', () => {
  const h = [
    put(1, 0, 1, 'x', 'a'), get(2, 2, 3, 'x', 'a'), cas(1, 4, 5, 'x', 'a', 'b', true),
    cas(2, 6, 7, 'x', 'a', 'c', false), get(1, 8, 9, 'x', 'b'), del(2, 10, 11, 'x'), get(1, 12, 13, 'x', null),
  ];
  assert.deepEqual(checkOperations(kvModel(), h), { ok: true, result: 'linearizable' });
});

test('reads overlapping a write may see the old or the new value, in either client', () => {
  const h = [
    put(1, 0, 1, 'x', 'old'),
    put(1, 10, 30, 'x', 'new'),
    get(2, 12, 14, 'x', 'old'),
    get(3, 15, 20, 'x', 'new'),
    get(2, 21, 25, 'x', 'new'),
  ];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('a read that completes before a concurrent write is called is ordered by the linearization, not by the call', () => {
  // The write's interval contains the read's; the read sees the new value, so the write took effect first.
  const h = [put(1, 0, 100, 'x', 'v'), get(2, 10, 20, 'x', 'v'), get(3, 30, 40, 'x', 'v')];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('two concurrent writes may land in either order as long as reads agree on one order', () => {
  const h = [
    put(1, 0, 10, 'x', 'a'), put(2, 0, 10, 'x', 'b'),
    get(3, 11, 12, 'x', 'a'), get(4, 13, 14, 'x', 'a'),
  ];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('touching intervals (a return and a call at the same instant) count as concurrent', () => {
  const h = [put(1, 0, 5, 'x', 'a'), get(2, 5, 6, 'x', null)];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('a successful cas is exclusive: two concurrent cas from the same expected value cannot both succeed', () => {
  const ok = [put(1, 0, 1, 'x', 'a'), cas(2, 2, 10, 'x', 'a', 'b', true), cas(3, 2, 10, 'x', 'a', 'c', false), get(1, 11, 12, 'x', 'b')];
  assert.equal(checkOperations(kvModel(), ok).ok, true);
  const bad = [put(1, 0, 1, 'x', 'a'), cas(2, 2, 10, 'x', 'a', 'b', true), cas(3, 2, 10, 'x', 'a', 'c', true)];
  assert.equal(checkOperations(kvModel(), bad).ok, false);
});
