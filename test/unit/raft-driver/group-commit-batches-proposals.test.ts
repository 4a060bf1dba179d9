// Group commit: proposals that arrive while a Ready is being handled go into the next one, so N
// concurrent proposals cost far fewer than N fsyncs on the leader (fsync on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { put, TestCluster } from './test-cluster.js';

test('1000 concurrent proposals are persisted with far fewer than 1000 fsyncs', async () => {
  const c = new TestCluster([1, 2, 3], {}, true);
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    const before = leader.node.status().syncs;
    const n = 1000;
    await Promise.all(Array.from({ length: n }, (_, i) => leader.node.propose(put(`k${i}`, 'v'))));
    const syncs = leader.node.status().syncs - before;
    assert.ok(syncs > 0);
    assert.ok(syncs < n / 10, `expected group commit, got ${syncs} fsyncs for ${n} proposals`);
    for (let i = 0; i < n; i += 97) assert.ok(leader.sm.get(Buffer.from(`k${i}`)) !== undefined);
  } finally {
    await c.destroy();
  }
});
