import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations } from '../../lin/check-operations.js';
import { kvModel } from '../../lin/kv-model.js';
import { cas, get, put } from './history-helpers.js';

test('an unknown put that took effect explains later reads of its value', () => {
  const h = [put(1, 0, 1, 'x', 'a'), put(2, 2, 0, 'x', 'b', true), get(3, 50, 51, 'x', 'b'), get(3, 52, 53, 'x', 'b')];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('an unknown put that never took effect leaves the old value readable', () => {
  const h = [put(1, 0, 1, 'x', 'a'), put(2, 2, 0, 'x', 'b', true), get(3, 50, 51, 'x', 'a'), get(3, 52, 53, 'x', 'a')];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('an unknown put may take effect late: old value read first, then its value', () => {
  const h = [put(1, 0, 1, 'x', 'a'), put(2, 2, 0, 'x', 'b', true), get(3, 50, 51, 'x', 'a'), get(3, 52, 53, 'x', 'b')];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('an unknown put takes effect at most once: its value cannot come back after being overwritten', () => {
  const h = [
    put(1, 0, 1, 'x', 'a'), put(2, 2, 0, 'x', 'b', true),
    get(3, 10, 11, 'x', 'b'), put(1, 12, 13, 'x', 'c'), get(3, 14, 15, 'x', 'b'),
  ];
  assert.equal(checkOperations(kvModel(), h).ok, false);
});

test('an unknown put cannot take effect before it was called', () => {
  const h = [put(1, 0, 1, 'x', 'a'), get(3, 2, 3, 'x', 'b'), put(2, 10, 0, 'x', 'b', true)];
  assert.equal(checkOperations(kvModel(), h).ok, false);
});

test('ret = Infinity and unknown: true are treated the same', () => {
  const flagged = { ...put(2, 2, 5, 'x', 'b'), unknown: true };
  const h = [put(1, 0, 1, 'x', 'a'), flagged, get(3, 50, 51, 'x', 'a'), get(3, 52, 53, 'x', 'b')];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('an unknown cas forks: later reads may see either outcome, but only consistently', () => {
  const base = [put(1, 0, 1, 'x', 'a'), cas(2, 2, 0, 'x', 'a', 'b', undefined)];
  assert.equal(checkOperations(kvModel(), [...base, get(3, 10, 11, 'x', 'b')]).ok, true);
  assert.equal(checkOperations(kvModel(), [...base, get(3, 10, 11, 'x', 'a')]).ok, true);
  assert.equal(checkOperations(kvModel(), [...base, get(3, 10, 11, 'x', 'b'), get(3, 12, 13, 'x', 'a')]).ok, false);
  const cannot = [put(1, 0, 1, 'x', 'z'), cas(2, 2, 0, 'x', 'a', 'b', undefined), get(3, 10, 11, 'x', 'b')];
  assert.equal(checkOperations(kvModel(), cannot).ok, false);
});
