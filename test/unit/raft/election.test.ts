import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { RaftRole } from '../../../manager/raft/core/types.js';

test('§5.2 single node elects itself and commits a proposal at once', () => {
  const net = new Network([1]);
  net.campaign(1);
  assert.equal(net.role(1), RaftRole.Leader);
  assert.equal(net.term(1), 1);
  assert.deepEqual(net.propose(1, 'a'), { ok: true });
  assert.deepEqual(net.appliedData(1), ['a']);
  assert.equal(net.committed(1), 2);
});

test('§5.2 three nodes elect the campaigner; others follow it in the same term', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  assert.deepEqual(net.leaders(), [1]);
  for (const id of [2, 3]) {
    assert.equal(net.role(id), RaftRole.Follower);
    assert.equal(net.lead(id), 1);
    assert.equal(net.term(id), 1);
  }
});
