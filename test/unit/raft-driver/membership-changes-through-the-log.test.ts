// Membership goes through the log: a learner is added with its address (the transport learns the
// peer when the entry is applied), catches up, is promoted to voter, and a member is removed (its
// peer dropped from every transport); leadership can be handed over to a chosen member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotLeaderError } from '../../../manager/raft/raft-errors.js';
import { put, TestCluster, until } from './test-cluster.js';

test('add a learner, promote it, remove a member; transports follow the applied config', async () => {
  const c = new TestCluster([1, 2, 3]);
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    for (let i = 0; i < 20; i++) await leader.node.propose(put(`k${i}`, 'v'));
    // Node 4 joins with an empty log and no configuration of its own; like a Swarm joiner it knows
    // only the address of the manager it joined through. The rest comes in the snapshot it is sent.
    const four = await c.start(4, { join: true, initialMembers: new Map([[leader.id, `mem-${leader.id}`]]) });
    await leader.node.addMember(4, 'mem-4', { learner: true });
    for (const m of c.members.values()) {
      if (m.id === 4) continue;
      await until(() => m.node.status().members.some((x) => x.id === 4 && x.learner), `member ${m.id} to see learner 4`);
    }
    assert.ok(c.net.endpoints.get(leader.id)!.hasPeer(4), 'the leader transport knows peer 4');
    await until(() => four.node.appliedIndex >= leader.node.appliedIndex, 'learner to catch up');
    assert.equal(Buffer.from(four.sm.get(Buffer.from('k7'))!.value).toString(), 'v');
    for (const id of [1, 2, 3]) assert.equal(four.node.memberAddress(id), `mem-${id}`, `the joiner learned member ${id}'s address`);
    assert.ok(four.node.status().snapshotIndex > 0, 'the joiner started from a snapshot that names it');
    await leader.node.promote(4);
    assert.ok(leader.node.status().core.config.voters.includes(4));
    const victim = [...c.members.values()].find((m) => m.id !== leader.id && m.id !== 4)!;
    await leader.node.removeMember(victim.id);
    assert.ok(!leader.node.status().core.config.voters.includes(victim.id));
    assert.ok(!c.net.endpoints.get(leader.id)!.hasPeer(victim.id), 'the removed member is no longer a peer');
    await c.stop(victim.id);
    // The remaining three (leader, the other original, 4) still commit.
    await leader.node.propose(put('after', 'remove'));
    await until(() => four.sm.get(Buffer.from('after')) !== undefined, 'new member applies new writes');
  } finally {
    await c.destroy();
  }
});

test('transferLeadership hands over to the chosen member; a follower cannot start a transfer', async () => {
  const c = new TestCluster([1, 2, 3]);
  try {
    await c.startAll();
    const leader = await c.waitLeader();
    const target = [...c.members.values()].find((m) => m.id !== leader.id)!;
    const err = await target.node.transferLeadership(leader.id).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof NotLeaderError);
    await leader.node.propose(put('a', '1'));
    await leader.node.transferLeadership(target.id);
    const now = await c.waitLeader();
    assert.equal(now.id, target.id);
    await now.node.propose(put('a', '2'));
  } finally {
    await c.destroy();
  }
});
