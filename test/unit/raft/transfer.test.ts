import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, Network } from './network.js';
import { MessageType, RaftRole } from '../../../manager/raft/core/types.js';

test('leader transfer to an up-to-date follower: TimeoutNow, it campaigns and wins the next term', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true });
  net.campaign(1);
  net.node(1).rn.transferLeader(2);
  net.stabilize();
  assert.equal(net.role(2), RaftRole.Leader, 'the transferee bypasses the followers\' lease');
  assert.equal(net.term(2), 2);
  assert.equal(net.role(1), RaftRole.Follower);
});

test('leader transfer to a lagging follower first catches it up, then sends TimeoutNow', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  net.propose(1, 'a');
  net.recover();
  net.node(1).rn.transferLeader(3);
  net.stabilize();
  assert.equal(net.role(3), RaftRole.Leader);
  assert.deepEqual(net.appliedData(3), ['a']);
});

test('proposals are dropped while a transfer is pending, and the transfer aborts after an election timeout', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.ignore(MessageType.TimeoutNow);
  net.node(1).rn.transferLeader(2);
  net.stabilize();
  assert.equal(net.node(1).rn.status().leadTransferee, 2);
  assert.equal(net.node(1).rn.propose(enc('x')).ok, false);
  net.tick(10, [1]);
  assert.equal(net.node(1).rn.status().leadTransferee, 0);
  assert.equal(net.role(1), RaftRole.Leader);
  assert.equal(net.node(1).rn.propose(enc('y')).ok, true);
});

test('transfer to self or to a non-member is a no-op', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.node(1).rn.transferLeader(1);
  net.node(1).rn.transferLeader(9);
  net.stabilize();
  assert.equal(net.node(1).rn.status().leadTransferee, 0);
  assert.equal(net.role(1), RaftRole.Leader);
});

test('a follower forwards transferLeader to the leader', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.node(3).rn.transferLeader(3);
  net.stabilize();
  assert.equal(net.role(3), RaftRole.Leader);
});

test('removing the transferee aborts a pending transfer', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.ignore(MessageType.TimeoutNow);
  net.node(1).rn.transferLeader(3);
  net.stabilize();
  assert.equal(net.node(1).rn.status().leadTransferee, 3);
  // The proposal is dropped during the transfer, so apply the removal as if it had committed.
  net.node(1).rn.applyConfChange({ transition: 0, changes: [{ type: 1, nodeId: 3 }], context: new Uint8Array(0) });
  assert.equal(net.node(1).rn.status().leadTransferee, 0);
});
