// The example KV state machine (what the real-process tests and bench:raft replicate): binary keys
// and values of any byte survive put, get, compare-and-put and a snapshot/restore; revisions are the
// log index of the last write; commands survive encode/decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKvCommand, encodeKvCommand, KvStateMachine } from '../../../manager/raft/kv/kv-state-machine.js';

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

test('binary keys and values of every byte value round-trip through put, get and snapshot/restore', () => {
  const sm = new KvStateMachine();
  const key = Uint8Array.from([0, 255, 128, 10]);
  sm.apply(encodeKvCommand({ op: 'put', key, value: allBytes }), 5);
  sm.apply(encodeKvCommand({ op: 'put', key: allBytes, value: key }), 6);
  assert.deepEqual(sm.get(key), { value: allBytes, revision: 5 });
  assert.deepEqual(sm.get(allBytes), { value: key, revision: 6 });
  const copy = new KvStateMachine();
  copy.restore(sm.snapshot());
  assert.deepEqual(copy.get(key), sm.get(key));
  assert.deepEqual(copy.get(allBytes), sm.get(allBytes));
  assert.equal(copy.size, 2);
  assert.equal(copy.appliedIndex, 6);
});

test('compare-and-put succeeds only on the expected value (or absence), delete reports what it removed', () => {
  const sm = new KvStateMachine();
  const k = Buffer.from('k');
  assert.equal(sm.apply(encodeKvCommand({ op: 'cas', key: k, value: Buffer.from('a'), expected: null }), 1).succeeded, true);
  assert.equal(sm.apply(encodeKvCommand({ op: 'cas', key: k, value: Buffer.from('b'), expected: null }), 2).succeeded, false);
  assert.equal(sm.apply(encodeKvCommand({ op: 'cas', key: k, value: Buffer.from('b'), expected: Buffer.from('x') }), 3).succeeded, false);
  const ok = sm.apply(encodeKvCommand({ op: 'cas', key: k, value: Buffer.from('b'), expected: Buffer.from('a') }), 4);
  assert.equal(ok.succeeded, true);
  assert.deepEqual(ok.prev, Buffer.from('a'));
  assert.deepEqual(sm.get(k), { value: new Uint8Array(Buffer.from('b')), revision: 4 });
  const del = sm.apply(encodeKvCommand({ op: 'delete', key: k }), 5);
  assert.equal(del.succeeded, true);
  assert.equal(sm.get(k), undefined);
  assert.equal(sm.apply(encodeKvCommand({ op: 'delete', key: k }), 6).succeeded, false);
});

test('commands decode to what was encoded, also from inside a larger buffer', () => {
  const c = { op: 'cas' as const, key: allBytes.subarray(3, 9), value: allBytes, expected: allBytes.subarray(200) };
  const enc = encodeKvCommand(c);
  const padded = new Uint8Array(enc.length + 10);
  padded.set(enc, 7);
  for (const b of [enc, padded.subarray(7, 7 + enc.length)]) {
    const d = decodeKvCommand(b);
    assert.equal(d.op, 'cas');
    assert.deepEqual(Buffer.from(d.key), Buffer.from(c.key));
    if (d.op === 'cas') {
      assert.deepEqual(Buffer.from(d.value), Buffer.from(c.value));
      assert.deepEqual(Buffer.from(d.expected!), Buffer.from(c.expected));
    }
  }
});
