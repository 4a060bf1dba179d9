// A proposal pending on a leader that loses its quorum is rejected with LeadershipLostError (outcome
// unknown), and a proposal on a node that knows no leader fails at once with NotLeaderError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeadershipLostError, NotLeaderError, RaftNodeError } from '../../../manager/raft/raft-errors.js';
import { put, TestCluster } from './test-cluster.js';

test('an isolated leader rejects its pending proposals when it steps down (CheckQuorum)', async () => {
  const c = new TestCluster([1, 2, 3]);
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    await leader.node.propose(put('a', '1'));
    c.net.isolate(leader.id);
    const pending = leader.node.propose(put('a', '2'));
    const err = await pending.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LeadershipLostError, `expected LeadershipLostError, got ${String(err)}`);
    assert.equal((err as RaftNodeError).outcome, 'unknown');
    const next = await c.waitLeader([leader.id]);
    assert.notEqual(next.id, leader.id);
    c.net.heal(leader.id);
    await next.node.propose(put('a', '3'));
  } finally {
    await c.destroy();
  }
});

test('a proposal on a node with no known leader fails with NotLeaderError', async () => {
  const c = new TestCluster([1, 2, 3]);
  try {
    const m = await c.start(1); // alone: no quorum, no leader
    const err = await m.node.propose(put('x', 'y')).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NotLeaderError);
    assert.equal((err as NotLeaderError).leader, 0);
    assert.equal((err as NotLeaderError).outcome, 'not-applied');
  } finally {
    await c.destroy();
  }
});
