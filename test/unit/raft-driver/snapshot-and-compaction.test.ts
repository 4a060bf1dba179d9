// Every snapshotInterval applied entries the driver snapshots and compacts the log, keeping
// keepEntries for slow followers; a follower that falls behind the compacted log catches up from a
// snapshot sent by the leader and ends with the same state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { put, TestCluster, until } from './test-cluster.js';

test('snapshots are taken at the interval, the log is compacted, a lagging follower is restored from a snapshot', async () => {
  const c = new TestCluster([1, 2, 3], { snapshotInterval: 50, keepEntries: 10 });
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    const lagging = [...c.members.values()].find((m) => m.id !== leader.id)!;
    c.net.isolate(lagging.id);
    for (let i = 0; i < 130; i++) await leader.node.propose(put(`k${i % 7}`, `v${i}`));
    const st = leader.node.status();
    assert.ok(st.snapshotIndex >= 100, `snapshot index ${st.snapshotIndex}`);
    const first = leader.storage.storage.firstIndex();
    assert.ok(first > st.snapshotIndex - 10 - 1 && first <= st.snapshotIndex - 10 + 1, `firstIndex ${first} keeps 10 entries before ${st.snapshotIndex}`);
    c.net.heal(lagging.id);
    await until(() => lagging.node.appliedIndex >= leader.node.appliedIndex, 'lagging follower to catch up');
    assert.ok(lagging.node.status().snapshotIndex >= 100, 'the follower installed a snapshot');
    for (let k = 0; k < 7; k++) {
      const key = Buffer.from(`k${k}`);
      assert.deepEqual(lagging.sm.get(key), leader.sm.get(key));
    }
    assert.equal(lagging.node.status().members.length, 3);
  } finally {
    await c.destroy();
  }
});
