// A proposal's promise resolves only once the entry is applied locally, with the state machine's
// result; followers' proposals are forwarded and resolve the same way; reads see acknowledged writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KvResult } from '../../../manager/raft/kv/kv-state-machine.js';
import { put, TestCluster } from './test-cluster.js';

test('leader and follower proposals resolve after local apply, in log order', async () => {
  const c = new TestCluster([1, 2, 3]);
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    const follower = [...c.members.values()].find((m) => m.id !== leader.id)!;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      (i % 2 === 0 ? leader : follower).node.propose(put(`k${i % 5}`, `v${i}`)).then((r) => {
        const m = i % 2 === 0 ? leader : follower;
        // Applied at the moment of resolution: the state machine already holds this revision or a later one.
        assert.ok(m.node.appliedIndex >= r.index);
        assert.ok(m.sm.appliedIndex >= r.index);
        return r;
      })));
    const idx = results.map((r) => r.index);
    assert.equal(new Set(idx).size, 50, 'distinct log indexes');
    for (const r of results) assert.equal((r.result as KvResult).revision, r.index);
    await follower.node.linearizableRead();
    for (let k = 0; k < 5; k++) {
      const last = Math.max(...results.map((r, i) => (i % 5 === k ? r.index : 0)));
      assert.equal(follower.sm.get(Buffer.from(`k${k}`))?.revision, last);
    }
  } finally {
    await c.destroy();
  }
});
