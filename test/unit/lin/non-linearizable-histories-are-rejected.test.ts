import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations } from '../../lin/check-operations.js';
import { kvModel } from '../../lin/kv-model.js';
import { get, put } from './history-helpers.js';

test('a stale read after a completed write is rejected', () => {
  const h = [put(1, 0, 1, 'x', 'a'), put(1, 2, 3, 'x', 'b'), get(2, 4, 5, 'x', 'a')];
  const r = checkOperations(kvModel(), h);
  assert.equal(r.ok, false);
  assert.equal(r.result, 'illegal');
});

test('two reads that see two concurrent writes in opposite orders are rejected', () => {
  const h = [
    put(1, 0, 10, 'x', 'a'), put(2, 0, 10, 'x', 'b'),
    get(3, 11, 12, 'x', 'a'), get(3, 13, 14, 'x', 'b'),
    get(4, 11, 12, 'x', 'b'), get(4, 13, 14, 'x', 'a'),
  ];
  assert.equal(checkOperations(kvModel(), h).ok, false);
});

test('a read of a value nobody wrote is rejected', () => {
  const h = [put(1, 0, 5, 'x', 'a'), get(2, 1, 6, 'x', 'ghost')];
  assert.equal(checkOperations(kvModel(), h).ok, false);
});

test('a read that goes back to an older value after seeing a newer one is rejected', () => {
  const h = [put(1, 0, 1, 'x', 'a'), put(1, 2, 20, 'x', 'b'), get(2, 3, 4, 'x', 'b'), get(3, 5, 6, 'x', 'a')];
  assert.equal(checkOperations(kvModel(), h).ok, false);
});

test('the explanation names the key and shows the shortest failing prefix, not the whole history', () => {
  const h = [
    put(1, 0, 1, 'x', 'a'), put(1, 2, 3, 'x', 'b'),
    get(2, 4, 5, 'x', 'a'), // the first bad read
    put(1, 6, 7, 'x', 'c'), get(2, 8, 9, 'x', 'c'), put(1, 10, 11, 'x', 'd'),
  ];
  const r = checkOperations(kvModel(), h);
  assert.ok(!r.ok && r.result === 'illegal', 'expected an illegal history');
  assert.equal(r.key, 'x');
  assert.match(r.explanation, /key "x": not linearizable/);
  assert.match(r.explanation, /Shortest failing prefix: 3 of 6 operations/);
  assert.match(r.explanation, /#2 client 2 \[4, 5\] get\(x\) -> "a"\s+<- cannot be linearized/);
  assert.doesNotMatch(r.explanation, /"c"|"d"/);
  assert.match(r.explanation, /Longest linearization found \(2 ops\)/);
});
