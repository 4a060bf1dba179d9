import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, Network } from './network.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { encodeConfChange } from '../../../manager/raft/core/conf-change-codec.js';
import {
  ConfChangeTransition as T, ConfChangeType as C, EntryType, MessageType, RaftRole,
  type ConfChangeSingle, type ConfChangeV2,
} from '../../../manager/raft/core/types.js';
import { newMessage } from '../../../manager/raft/core/message.js';

const cc = (changes: ConfChangeSingle[], transition: T = T.Auto): ConfChangeV2 => ({ transition, changes, context: enc('') });

test('adding a voter: it takes effect when applied, and the new node catches up and counts for the quorum', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.addNode(4, new MemoryStorage());
  assert.equal(net.node(1).rn.proposeConfChange(cc([{ type: C.AddNode, nodeId: 4 }])).ok, true);
  net.stabilize();
  net.tick(2, [1]);
  assert.deepEqual(net.node(1).confState?.voters, [1, 2, 3, 4]);
  assert.deepEqual(net.node(4).confState?.voters, [1, 2, 3, 4]);
  net.isolate(2);
  net.isolate(3);
  net.propose(1, 'needs-4');
  assert.deepEqual(net.appliedData(1), [], 'two of four is not a quorum');
});

test('removing a follower shrinks the quorum; messages from the removed node are ignored', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.node(1).rn.proposeConfChange(cc([{ type: C.RemoveNode, nodeId: 3 }]));
  net.stabilize();
  assert.deepEqual(net.node(1).confState?.voters, [1, 2]);
  const st = net.node(1).rn.status();
  assert.equal(st.progress?.has(3), false);
  net.node(1).rn.step(newMessage({ type: MessageType.AppResp, from: 3, to: 1, term: st.hardState.term, index: 99 }));
  assert.equal(net.node(1).rn.status().progress?.has(3), false);
  net.isolate(3);
  net.propose(1, 'two-of-two');
  assert.deepEqual(net.appliedData(2), ['two-of-two']);
});

test('removing the leader: with stepDownOnRemoval it steps down and the others elect a new leader', () => {
  const net = new Network([1, 2, 3], { stepDownOnRemoval: true });
  net.campaign(1);
  net.node(1).rn.proposeConfChange(cc([{ type: C.RemoveNode, nodeId: 1 }]));
  net.stabilize();
  assert.equal(net.role(1), RaftRole.Follower);
  net.tick(30, [2, 3]);
  const leaders = net.leaders().filter((id) => id !== 1);
  assert.equal(leaders.length, 1);
});

test('removing the leader without stepDownOnRemoval: it keeps leading but drops proposals', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.node(1).rn.proposeConfChange(cc([{ type: C.RemoveNode, nodeId: 1 }]));
  net.stabilize();
  assert.equal(net.role(1), RaftRole.Leader);
  assert.equal(net.node(1).rn.propose(enc('x')).ok, false);
});

test('a second conf change while one is unapplied is replaced by an empty normal entry', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(2);
  net.isolate(3); // nothing commits, so the first change stays pending
  const rn = net.node(1).rn;
  rn.proposeConfChange(cc([{ type: C.AddLearnerNode, nodeId: 4 }]));
  rn.proposeConfChange(cc([{ type: C.AddLearnerNode, nodeId: 5 }]));
  net.stabilize();
  const st = rn.logState();
  const ents = rn.logEntries(st.lastIndex - 1, st.lastIndex + 1);
  assert.equal(ents[0]?.type, EntryType.ConfChange);
  assert.equal(ents[1]?.type, EntryType.Normal);
  assert.equal(ents[1]?.data.length, 0);
});

test('learners receive the log, never campaign, and can be promoted to voters', () => {
  const net = new Network([1, 2]);
  const s3 = MemoryStorage.bootstrap([1, 2], [3]);
  for (const id of [1, 2]) net.addNode(id, MemoryStorage.bootstrap([1, 2], [3]));
  net.addNode(3, s3);
  net.campaign(1);
  net.propose(1, 'a');
  assert.deepEqual(net.appliedData(3), ['a']);
  net.isolate(1);
  net.tick(50, [3]);
  assert.equal(net.role(3), RaftRole.Follower, 'a learner never campaigns');
  assert.equal(net.term(3), 1);
  net.recover();
  net.node(1).rn.proposeConfChange(cc([{ type: C.AddNode, nodeId: 3 }]));
  net.stabilize();
  assert.deepEqual(net.node(3).confState?.voters, [1, 2, 3]);
  assert.deepEqual(net.node(3).confState?.learners, []);
  net.isolate(1);
  net.tick(50, [2, 3]);
  assert.equal(net.leaders().filter((id) => id !== 1).length, 1, 'the promoted voter helps elect a new leader');
});

test('joint consensus (auto leave): replacing two voters enters a joint config and leaves it automatically', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  for (const id of [4, 5]) net.addNode(id, new MemoryStorage());
  net.node(1).rn.proposeConfChange(cc([
    { type: C.AddNode, nodeId: 4 }, { type: C.AddNode, nodeId: 5 }, { type: C.RemoveNode, nodeId: 2 }, { type: C.RemoveNode, nodeId: 3 },
  ]));
  net.stabilize();
  net.tick(3, [1]);
  const cs = net.node(1).confState;
  assert.deepEqual(cs?.voters, [1, 4, 5]);
  assert.deepEqual(cs?.votersOutgoing, [], 'left the joint config');
  assert.deepEqual(net.node(4).confState?.voters, [1, 4, 5]);
  const kinds = net.node(1).appliedAll.filter((e) => e.type === EntryType.ConfChange).map((e) => e.data.length === 0 ? 'leave' : 'enter');
  assert.deepEqual(kinds, ['enter', 'leave']);
});

test('joint consensus (explicit): stays joint until an empty change leaves; a non-empty change meanwhile is refused', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.addNode(4, new MemoryStorage());
  const rn = net.node(1).rn;
  rn.proposeConfChange(cc([{ type: C.AddNode, nodeId: 4 }], T.JointExplicit));
  net.stabilize();
  net.tick(2, [1]);
  assert.deepEqual(net.node(1).confState?.votersOutgoing, [1, 2, 3]);
  rn.proposeConfChange(cc([{ type: C.AddLearnerNode, nodeId: 9 }]));
  net.stabilize();
  assert.deepEqual(net.node(1).confState?.votersOutgoing, [1, 2, 3], 'refused: must leave joint first');
  rn.proposeConfChange(cc([]));
  net.stabilize();
  assert.deepEqual(net.node(1).confState?.voters, [1, 2, 3, 4]);
  assert.deepEqual(net.node(1).confState?.votersOutgoing, []);
});

test('a conf change entry carries the encoded ConfChangeV2 as its data', () => {
  const net = new Network([1]);
  net.campaign(1);
  const change = cc([{ type: C.AddLearnerNode, nodeId: 2 }]);
  net.node(1).rn.proposeConfChange(change);
  net.stabilize();
  const e = net.node(1).appliedAll.find((x) => x.type === EntryType.ConfChange);
  assert.deepEqual(e?.data, encodeConfChange(change));
});
