import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, logOf, Network, snapshotAndCompact } from './network.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { ConfChangeTransition, ConfChangeType, MessageType, ProgressState } from '../../../manager/raft/core/types.js';

function lagging(): Network {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 10; i++) net.propose(1, `v${i}`);
  snapshotAndCompact(net.node(1), 'state@11');
  snapshotAndCompact(net.node(2), 'state@11');
  return net;
}

test('a follower behind the leader\'s compacted log gets a snapshot, installs it, then catches up from the log', () => {
  const net = lagging();
  net.recover();
  net.propose(1, 'after');
  net.tick(1, [1]);
  const snaps = net.delivered.filter((m) => m.type === MessageType.Snap && m.to === 3);
  assert.equal(snaps.length, 1);
  assert.equal(snaps[0]?.snapshot?.metadata.index, 11);
  const n3 = net.node(3);
  assert.equal(n3.storage.snapshot().metadata.index, 11, 'the snapshot was handed out in a Ready and persisted');
  assert.deepEqual(n3.confState?.voters, [1, 2, 3]);
  assert.deepEqual(net.appliedData(3), ['after'], 'entries after the snapshot are applied from the log');
  assert.equal(net.committed(3), net.committed(1));
  assert.equal(logOf(n3), logOf(net.node(1)));
  assert.equal(net.node(1).rn.status().progress?.get(3)?.state, ProgressState.Replicate);
});

test('a pending snapshot pauses replication to that follower; a failure report retries it after a heartbeat', () => {
  const net = lagging();
  net.recover();
  net.ignore(MessageType.Snap);
  net.tick(1, [1]);
  const leader = net.node(1).rn;
  assert.equal(leader.status().progress?.get(3)?.state, ProgressState.Snapshot);
  assert.equal(leader.status().progress?.get(3)?.pendingSnapshot, 11);
  const appsBefore = net.delivered.filter((m) => m.type === MessageType.App && m.to === 3).length;
  net.propose(1, 'x');
  assert.equal(net.delivered.filter((m) => m.type === MessageType.App && m.to === 3).length, appsBefore, 'paused');
  leader.reportSnapshot(3, 'failure');
  assert.equal(leader.status().progress?.get(3)?.state, ProgressState.Probe);
  assert.equal(leader.status().progress?.get(3)?.pendingSnapshot, 0);
  net.recover();
  net.tick(1, [1]);
  assert.equal(net.committed(3), net.committed(1), 'the retried snapshot and the log caught it up');
});

test('reportSnapshot(finish) resumes probing after the snapshot index', () => {
  const net = lagging();
  net.recover();
  net.ignore(MessageType.Snap);
  net.tick(1, [1]);
  const leader = net.node(1).rn;
  leader.reportSnapshot(3, 'finish');
  const pr = leader.status().progress?.get(3);
  assert.equal(pr?.state, ProgressState.Probe);
  assert.equal(pr?.next, 12);
});

test('a node whose log is empty and has no membership gets the bootstrap membership, then the log', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.addNode(4, new MemoryStorage());
  const cc = { transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: 4 }], context: enc('') };
  assert.equal(net.node(1).rn.proposeConfChange(cc).ok, true);
  net.stabilize();
  net.tick(2, [1]);
  assert.deepEqual(net.node(4).confState?.learners, [4]);
  assert.deepEqual(net.appliedData(4), ['a']);
  assert.equal(net.node(4).storage.initialState().confState.voters.length, 3, 'the bootstrap ConfState was persisted');
});
