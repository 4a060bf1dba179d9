import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { MessageType, RaftRole } from '../../../manager/raft/core/types.js';
import { newMessage } from '../../../manager/raft/core/message.js';

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

test('§5.2 five nodes elect a leader with two nodes down, but not with three down', () => {
  const net = new Network([1, 2, 3, 4, 5]);
  net.isolate(4);
  net.isolate(5);
  net.campaign(1);
  assert.equal(net.role(1), RaftRole.Leader);
  const net2 = new Network([1, 2, 3, 4, 5]);
  for (const id of [3, 4, 5]) net2.isolate(id);
  net2.campaign(1);
  assert.equal(net2.role(1), RaftRole.Candidate);
  assert.equal(net2.term(1), 1);
});

test('§5.2 one vote per term: dueling candidates split the vote, then randomized timeouts elect exactly one leader', () => {
  const net = new Network([1, 2, 3]);
  net.isolate(3);
  net.node(1).rn.campaign();
  net.node(2).rn.campaign();
  net.stabilize();
  assert.equal(net.role(1), RaftRole.Candidate, 'rejected by 2, which voted for itself');
  assert.equal(net.role(2), RaftRole.Candidate);
  assert.equal(net.term(1), 1);
  assert.equal(net.term(2), 1);
  net.recover();
  const leadersByTerm = new Map<number, Set<number>>();
  for (let i = 0; i < 60 && net.leaders().length === 0; i++) {
    net.tick(1);
    for (const id of net.leaders()) {
      const s = leadersByTerm.get(net.term(id)) ?? new Set();
      s.add(id);
      leadersByTerm.set(net.term(id), s);
    }
  }
  assert.equal(net.leaders().length, 1);
  for (const s of leadersByTerm.values()) assert.equal(s.size, 1);
});

test('§5.4.1 a voter denies its vote to a candidate whose log is less up to date', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  net.propose(1, 'a');
  net.recover();
  net.isolate(1);
  net.campaign(3);
  assert.notEqual(net.role(3), RaftRole.Leader);
  net.campaign(2);
  assert.equal(net.role(2), RaftRole.Leader, 'the up-to-date node wins');
});

test('§5.1 a leader steps down on a higher term; a stale-term MsgApp is ignored', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(1);
  net.campaign(2);
  assert.equal(net.term(2), 2);
  assert.equal(net.role(1), RaftRole.Leader, 'isolated old leader still thinks it leads');
  net.recover();
  net.tick(1, [2]);
  assert.equal(net.role(1), RaftRole.Follower);
  assert.equal(net.lead(1), 2);
  assert.equal(net.term(1), 2);
  const before = net.node(3).rn.logState();
  net.send(newMessage({
    type: MessageType.App, from: 1, to: 3, term: 1, index: before.lastIndex, logTerm: before.lastTerm,
    entries: [{ index: before.lastIndex + 1, term: 1, type: 0, data: new Uint8Array(0) }],
  }));
  assert.equal(net.node(3).rn.logState().lastIndex, before.lastIndex);
  assert.equal(net.term(3), 2);
});

test('§9.6 PreVote: a partitioned node rejoining does not bump the term or disrupt the leader', () => {
  const net = new Network([1, 2, 3], { preVote: true });
  net.campaign(1);
  net.isolate(3);
  net.tick(40, [3]);
  assert.equal(net.term(3), 1, 'pre-votes never raise the term');
  assert.equal(net.role(3), RaftRole.PreCandidate);
  net.recover();
  net.tick(2, [1, 2, 3]);
  assert.equal(net.role(1), RaftRole.Leader);
  assert.equal(net.term(1), 1);
  assert.equal(net.lead(3), 1);
});

test('without PreVote the same rejoining node forces a new election at a higher term', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  net.tick(40, [3]);
  assert.ok(net.term(3) > 1);
  net.recover();
  net.tick(30, [3]);
  assert.ok(net.term(1) > 1, 'the leader learned a higher term and stepped down');
});

test('CheckQuorum: an isolated leader steps down after an election timeout', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true });
  net.campaign(1);
  net.isolate(1);
  net.tick(9, [1]);
  assert.equal(net.role(1), RaftRole.Leader, 'followers were active during the first timeout');
  net.tick(11, [1]);
  assert.equal(net.role(1), RaftRole.Follower);
});

test('CheckQuorum: a leader with a live quorum stays leader across many election timeouts', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true });
  net.campaign(1);
  net.isolate(3);
  net.tick(50, [1, 2]);
  assert.equal(net.role(1), RaftRole.Leader);
});

test('CheckQuorum lease: a follower that heard from the leader ignores a higher-term vote request', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true });
  net.campaign(1);
  const n2 = net.node(2).rn;
  n2.step(newMessage({ type: MessageType.Vote, from: 3, to: 2, term: 9, index: 100, logTerm: 9 }));
  assert.equal(net.term(2), 1);
  const rd = n2.ready();
  assert.equal(rd.messages.filter((m) => m.type === MessageType.VoteResp).length, 0);
  n2.advance();
});
