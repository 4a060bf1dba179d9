import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, Network, storageWithLog } from './network.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import {
  ConfChangeTransition as T, ConfChangeType as C, EntryType, MessageType, RaftRole,
  type ConfChangeSingle, type ConfChangeV2,
} from '../../../manager/raft/core/types.js';

const cc = (changes: ConfChangeSingle[], transition: T = T.Auto): ConfChangeV2 => ({ transition, changes, context: enc('') });

test('a node that is still a learner in its own config grants its vote, so the config that promoted it can elect a leader', () => {
  // Nodes 1 and 2 have applied "promote 3"; node 3 has not yet (it still sees itself as a learner).
  const net = new Network([1, 2, 3]);
  net.addNode(3, MemoryStorage.bootstrap([1, 2], [3]));
  net.isolate(1);
  net.campaign(2);
  assert.equal(net.role(2), RaftRole.Leader, 'node 2 needs node 3\'s vote: 2 of {1, 2, 3}');
  assert.equal(net.node(3).storage.hardState().vote, 2, 'the learner recorded the vote it gave');
  assert.equal(net.role(3), RaftRole.Follower);
});

test('a new leader refuses a conf change until it has applied every entry it inherited (one of them may be a conf change)', () => {
  // Node 1 holds an uncommitted entry from term 1 that the others never got.
  const net = new Network([1, 2, 3]);
  net.addNode(1, storageWithLog([1, 2, 3], [1], 1));
  for (const id of [2, 3]) net.node(id).storage.setHardState({ term: 1, vote: 0, commit: 0 });
  net.ignore(MessageType.App);
  net.campaign(1);
  assert.equal(net.role(1), RaftRole.Leader);
  const rn = net.node(1).rn;
  assert.equal(rn.proposeConfChange(cc([{ type: C.AddLearnerNode, nodeId: 4 }])).ok, true, 'accepted as an entry…');
  const st = rn.logState();
  const e = rn.logEntries(st.lastIndex, st.lastIndex + 1)[0];
  assert.equal(e?.type, EntryType.Normal, '…but replaced by an empty normal entry');
  assert.equal(e?.data.length, 0);
  net.recover();
  net.stabilize();
  net.tick(1, [1]);
  assert.deepEqual(net.node(1).confState?.learners ?? [], [], 'the refused change never took effect');
  rn.proposeConfChange(cc([{ type: C.AddLearnerNode, nodeId: 4 }]));
  net.stabilize();
  assert.deepEqual(net.node(1).confState?.learners, [4], 'once the inherited log is applied, a change goes through');

  // The contrast: a new leader that inherited nothing takes the same change at once.
  const fresh = new Network([1, 2, 3]);
  fresh.ignore(MessageType.App);
  fresh.campaign(1);
  const frn = fresh.node(1).rn;
  frn.proposeConfChange(cc([{ type: C.AddLearnerNode, nodeId: 4 }]));
  const fst = frn.logState();
  assert.equal(frn.logEntries(fst.lastIndex, fst.lastIndex + 1)[0]?.type, EntryType.ConfChange);
});

test('joint consensus replacing the leader: it leads through the joint config, steps down once the config without it applies, and the new voters elect a leader', () => {
  const net = new Network([1, 2, 3], { stepDownOnRemoval: true });
  net.campaign(1);
  net.addNode(4, new MemoryStorage(), { stepDownOnRemoval: true });
  const change = cc([{ type: C.RemoveNode, nodeId: 1 }, { type: C.AddNode, nodeId: 4 }]);
  // Stop right after entering the joint config: the leave-joint needs the leader to apply the enter first.
  net.ignore(MessageType.App);
  net.node(1).rn.proposeConfChange(change);
  net.stabilize();
  net.recover();
  net.node(1).rn.proposeConfChange(cc([{ type: C.AddLearnerNode, nodeId: 9 }])); // must be refused: pending
  net.stabilize();
  const enter = net.node(1).appliedAll.find((e) => e.type === EntryType.ConfChange && e.data.length > 0);
  assert.ok(enter, 'the joint change was applied');
  net.tick(3, [1]);
  assert.deepEqual(net.node(2).confState?.voters, [2, 3, 4]);
  assert.deepEqual(net.node(2).confState?.votersOutgoing, []);
  assert.deepEqual(net.node(2).confState?.learners, [], 'the second change was refused while the first was pending');
  const kinds = net.node(2).appliedAll.filter((e) => e.type === EntryType.ConfChange).map((e) => e.data.length === 0 ? 'leave' : 'enter');
  assert.deepEqual(kinds, ['enter', 'leave'], 'the old leader proposed the leave itself, from inside the joint config');
  assert.equal(net.role(1), RaftRole.Follower, 'it stepped down when the config without it applied');
  net.tick(40, [2, 3, 4]);
  const leaders = net.leaders().filter((id) => id !== 1);
  assert.equal(leaders.length, 1);
  net.propose(leaders[0]!, 'after');
  for (const id of [2, 3, 4]) assert.deepEqual(net.appliedData(id), ['after']);
  assert.deepEqual(net.appliedData(1), [], 'the removed node gets nothing new');
});

test('leader transfer to a learner is ignored: the leader keeps leading and accepts proposals', () => {
  const net = new Network([1, 2]);
  for (const id of [1, 2, 3]) net.addNode(id, MemoryStorage.bootstrap([1, 2], [3]));
  net.campaign(1);
  net.node(1).rn.transferLeader(3);
  net.stabilize();
  assert.equal(net.node(1).rn.status().leadTransferee, 0);
  net.tick(30);
  assert.equal(net.role(1), RaftRole.Leader);
  assert.equal(net.role(3), RaftRole.Follower);
  assert.equal(net.propose(1, 'x').ok, true);
  assert.deepEqual(net.appliedData(3), ['x']);
});
