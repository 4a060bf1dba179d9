import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations } from '../../lin/check-operations.js';
import { kvModel } from '../../lin/kv-model.js';
import { get, put } from './history-helpers.js';

test('operations on different keys do not constrain each other', () => {
  const h = [put(1, 0, 1, 'x', 'a'), get(2, 2, 3, 'y', null), put(1, 4, 5, 'y', 'b'), get(2, 6, 7, 'x', 'a')];
  assert.equal(checkOperations(kvModel(), h).ok, true);
});

test('the model splits a history into one part per key', () => {
  const parts = kvModel().partition!([put(1, 0, 1, 'x', 'a'), put(1, 2, 3, 'y', 'b'), get(2, 4, 5, 'x', 'a')]);
  assert.deepEqual(parts.map((p) => [p.key, p.ops.length]), [['x', 2], ['y', 1]]);
});

test('a violation is reported with the key it happened on', () => {
  const h = [
    put(1, 0, 1, 'a', '1'), get(2, 2, 3, 'a', '1'),
    put(1, 0, 1, 'b', '1'), put(1, 2, 3, 'b', '2'), get(2, 4, 5, 'b', '1'),
    put(1, 0, 1, 'c', '1'),
  ];
  const r = checkOperations(kvModel(), h);
  assert.ok(!r.ok && r.result === 'illegal');
  assert.equal(r.key, 'b');
});
