// When the leader's stream breaks (it died), the survivors do not wait for an election timeout: the
// lowest-ranked one campaigns at once and the others stand aside if its log is as up to date as
// theirs, so the vote is not split; if its log is behind, the one that sees that campaigns itself.
// Ticks are 10 s here, so no election in these tests can come from a timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { put, TestCluster, until } from './test-cluster.js';

const slow = { tickMs: 10_000, requestTimeoutMs: 8000, random: (): number => 0 };

test('the leader dies: the first survivor campaigns at once and wins in one term, unopposed', async () => {
  const c = new TestCluster([1, 2, 3], slow);
  try {
    await c.startAll();
    c.members.get(3)!.node.campaign();
    const leader = await c.waitLeader();
    assert.equal(leader.id, 3);
    await leader.node.propose(put('a', '1'));
    const term = leader.node.status().term;
    await c.stop(3);
    const next = await c.waitLeader([3], 5000);
    assert.equal(next.id, 1, 'the lowest id among the survivors leads');
    assert.equal(next.node.status().term, term + 1, 'one election, no split vote');
    await next.node.propose(put('a', '2'));
    await until(() => Buffer.from(c.members.get(2)!.sm.get(Buffer.from('a'))?.value ?? []).toString() === '2', 'the other survivor to apply');
  } finally {
    await c.destroy();
  }
});

test('the first survivor is behind: the survivor with the longer log campaigns when it sees that, and leads', async () => {
  const c = new TestCluster([1, 2, 3], slow);
  try {
    await c.startAll();
    c.members.get(3)!.node.campaign();
    const leader = await c.waitLeader();
    assert.equal(leader.id, 3);
    c.net.isolate(1);
    for (let i = 0; i < 5; i++) await leader.node.propose(put(`k${i}`, 'v')); // committed by 3 and 2
    c.net.heal(1); // with 10 s ticks, 1 hears nothing more from 3 before it dies
    const behind = c.members.get(1)!.node.appliedIndex;
    assert.ok(behind < c.members.get(2)!.node.appliedIndex);
    await c.stop(3);
    const next = await c.waitLeader([3], 5000);
    assert.equal(next.id, 2, 'the member with every committed entry leads');
    await until(() => c.members.get(1)!.sm.get(Buffer.from('k4')) !== undefined, 'the lagging survivor to catch up');
  } finally {
    await c.destroy();
  }
});
