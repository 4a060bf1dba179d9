import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOperations } from '../../lin/check-operations.js';
import { kvModel, type KvOperation } from '../../lin/kv-model.js';
import { randomKvHistory } from '../../lin/random-kv-history.js';

// 20 clients × 100 ops over 10 keys: 2,000 ops with heavy overlap and some unknown writes.
const history = (seed: number) => randomKvHistory({ seed, clients: 20, opsPerClient: 100, keys: 10, unknownFraction: 0.05 });

test('a linearizable history of 2,000 ops over 10 keys is accepted within 200,000 search steps per key', () => {
  for (const seed of [1, 2, 3]) {
    const h = history(seed);
    assert.equal(h.length, 2000);
    const r = checkOperations(kvModel(), h, { maxSteps: 200_000, timeoutMs: 60_000 });
    assert.deepEqual(r, { ok: true, result: 'linearizable' }, `seed ${seed}: ${JSON.stringify(r)}`);
  }
});

test('the same history with one read changed to a value never written is rejected', () => {
  const h: KvOperation[] = history(4);
  const i = h.findIndex((op, n) => n > 1000 && op.input.op === 'get' && op.output !== undefined);
  h[i] = { ...h[i]!, output: { type: 'value', value: 'never-written' } };
  const r = checkOperations(kvModel(), h, { maxSteps: 200_000, timeoutMs: 60_000 });
  assert.ok(!r.ok && r.result === 'illegal', JSON.stringify(r));
  assert.equal(r.key, h[i]!.input.key);
  assert.match(r.explanation, /"never-written"\s+<- cannot be linearized/);
});
