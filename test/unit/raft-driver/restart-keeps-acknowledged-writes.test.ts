// Stopping every member and restarting from the same directories keeps every acknowledged write,
// before and after a snapshot, and the cluster keeps taking writes (fsync on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { put, TestCluster, until } from './test-cluster.js';

test('a full-cluster restart from disk keeps every acknowledged write', async () => {
  const c = new TestCluster([1, 2, 3], { snapshotInterval: 100, keepEntries: 20 }, true);
  try {
    await c.startAll();
    let leader = await c.waitLeader();
    const acked = new Map<string, string>();
    for (let i = 0; i < 250; i++) {
      const k = `k${i % 40}`;
      await leader.node.propose(put(k, `v${i}`));
      acked.set(k, `v${i}`);
    }
    const appliedBefore = leader.node.appliedIndex;
    for (const id of c.ids) await c.stop(id);
    await c.startAll();
    leader = await c.waitLeader();
    await leader.node.linearizableRead();
    await until(() => [...c.members.values()].every((m) => m.node.appliedIndex >= appliedBefore), 'replay on every member');
    for (const m of c.members.values()) {
      for (const [k, v] of acked) assert.equal(Buffer.from(m.sm.get(Buffer.from(k))?.value ?? []).toString(), v, `member ${m.id} key ${k}`);
    }
    await leader.node.propose(put('after', 'restart'));
    assert.equal(Buffer.from(leader.sm.get(Buffer.from('after'))!.value).toString(), 'restart');
  } finally {
    await c.destroy();
  }
});

test('a single member restarted alone recovers its applied state from its snapshot and WAL', async () => {
  const c = new TestCluster([1, 2, 3], { snapshotInterval: 30, keepEntries: 5 }, true);
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    for (let i = 0; i < 80; i++) await leader.node.propose(put(`k${i % 9}`, `v${i}`));
    const f = [...c.members.values()].find((m) => m.id !== leader.id)!;
    await until(() => f.node.appliedIndex >= leader.node.appliedIndex, 'follower caught up');
    const want = new Map([...Array(9).keys()].map((k) => [k, Buffer.from(leader.sm.get(Buffer.from(`k${k}`))!.value).toString()]));
    await c.stop(f.id);
    const again = await c.start(f.id);
    await until(() => again.node.leaderId !== 0, 'restarted member to hear from the leader');
    await again.node.linearizableRead();
    for (const [k, v] of want) assert.equal(Buffer.from(again.sm.get(Buffer.from(`k${k}`))!.value).toString(), v);
  } finally {
    await c.destroy();
  }
});
