// The driver fdatasyncs only when a Ready must be durable before its messages go out (new entries,
// a new term or vote): heartbeats and commit-only hard-state changes are written without a sync, so
// an idle cluster makes no fsyncs at all, while every new write is synced on every member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { put, sleep, TestCluster, until } from './test-cluster.js';

test('an idle cluster does not fsync; a write is synced once per member and commit-only updates are not', async () => {
  const c = new TestCluster([1, 2, 3], { tickMs: 50 }, true);
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    await leader.node.propose(put('warm', 'up'));
    const all = [...c.members.values()];
    await until(() => all.every((m) => m.node.appliedIndex === leader.node.appliedIndex), 'every member to apply');
    await sleep(200); // heartbeats carry the new commit index to the followers (no sync needed)
    const idleFrom = all.map((m) => m.storage.walSyncs);
    const termFrom = leader.node.status().term;
    await sleep(600); // 12 heartbeat rounds
    assert.equal(leader.node.status().term, termFrom, 'no election happened');
    assert.deepEqual(all.map((m) => m.storage.walSyncs), idleFrom, 'heartbeats alone cause no fsync');

    const before = all.map((m) => m.storage.walSyncs);
    const { index } = await leader.node.propose(put('one', 'write'));
    await until(() => all.every((m) => m.node.appliedIndex >= index), 'every member to apply the write');
    await sleep(200);
    const used = all.map((m, k) => m.storage.walSyncs - before[k]!);
    // Each member syncs the new entry once; the commit index that follows it needs no sync.
    assert.deepEqual(used, [1, 1, 1], `fsyncs per member for one write: ${used.join(', ')}`);
  } finally {
    await c.destroy();
  }
});
