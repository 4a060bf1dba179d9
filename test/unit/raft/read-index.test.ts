import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, Network } from './network.js';
import { MessageType } from '../../../manager/raft/core/types.js';

test('ReadIndex safe: the leader answers after a heartbeat round acked by a quorum, at its commit index', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.isolate(2);
  net.isolate(3);
  net.node(1).rn.readIndex(enc('r1'));
  net.stabilize();
  assert.deepEqual(net.node(1).readStates, [], 'no quorum of acks yet');
  net.recover();
  net.node(1).rn.readIndex(enc('r2'));
  net.stabilize();
  const commit = net.committed(1);
  assert.deepEqual(net.node(1).readStates, [{ index: commit, ctx: 'r1' }, { index: commit, ctx: 'r2' }]);
  assert.ok(net.delivered.some((m) => m.type === MessageType.Heartbeat && new TextDecoder().decode(m.context) === 'r2'));
});

test('ReadIndex lease-based: the leader answers at once without a heartbeat round', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true, readOnlyOption: 'lease-based' });
  net.campaign(1);
  net.isolate(2);
  net.isolate(3);
  net.node(1).rn.readIndex(enc('fast'));
  net.stabilize();
  assert.deepEqual(net.node(1).readStates, [{ index: net.committed(1), ctx: 'fast' }]);
});

test('ReadIndex: a new leader defers reads until it has committed an entry of its own term', () => {
  const net = new Network([1, 2, 3]);
  net.ignore(MessageType.App); // the leader's empty entry cannot commit
  net.campaign(1);
  net.node(1).rn.readIndex(enc('early'));
  net.stabilize();
  assert.deepEqual(net.node(1).readStates, []);
  net.recover();
  net.tick(1, [1]);
  assert.deepEqual(net.node(1).readStates, [{ index: net.committed(1), ctx: 'early' }]);
  assert.equal(net.committed(1), 1);
});

test('ReadIndex from a follower is forwarded to the leader and answered to the follower', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.node(2).rn.readIndex(enc('from-2'));
  net.stabilize();
  assert.deepEqual(net.node(2).readStates, [{ index: net.committed(1), ctx: 'from-2' }]);
  assert.deepEqual(net.node(1).readStates, []);
});

test('ReadIndex on a single-voter leader is answered immediately', () => {
  const net = new Network([1]);
  net.campaign(1);
  net.node(1).rn.readIndex(enc('solo'));
  net.stabilize();
  assert.deepEqual(net.node(1).readStates, [{ index: 1, ctx: 'solo' }]);
});
