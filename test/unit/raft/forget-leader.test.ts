import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { MessageType, RaftRole } from '../../../manager/raft/core/types.js';
import { newMessage } from '../../../manager/raft/core/message.js';

test('forgetLeader lets a follower in lease grant a vote at once (CheckQuorum + PreVote)', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true, preVote: true });
  net.campaign(1);
  const n2 = net.node(2).rn;
  n2.step(newMessage({ type: MessageType.PreVote, from: 3, to: 2, term: 2, index: 10, logTerm: 1 }));
  net.stabilize();
  assert.equal(net.delivered.filter((m) => m.type === MessageType.PreVoteResp && m.from === 2 && m.to === 3 && !m.reject).length, 0, 'ignored in lease');
  n2.forgetLeader();
  assert.equal(n2.status().softState.lead, 0);
  n2.step(newMessage({ type: MessageType.PreVote, from: 3, to: 2, term: 2, index: 10, logTerm: 1 }));
  net.stabilize();
  assert.equal(net.delivered.filter((m) => m.type === MessageType.PreVoteResp && m.from === 2 && m.to === 3 && !m.reject).length, 1);
  assert.equal(net.term(2), 1, 'pre-votes never change the voter\'s term');
});

test('forgetLeader is ignored on the leader and with lease-based reads', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true, readOnlyOption: 'lease-based' });
  net.campaign(1);
  net.node(1).rn.forgetLeader();
  assert.equal(net.role(1), RaftRole.Leader);
  net.node(2).rn.forgetLeader();
  assert.equal(net.lead(2), 1);
});

test('PreVote + CheckQuorum: an isolated leader steps down and the majority side elects a new leader; the old one rejoins as follower', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true, preVote: true });
  net.campaign(1);
  net.isolate(1);
  net.tick(40);
  assert.notEqual(net.role(1), RaftRole.Leader, 'stepped down (and may be pre-campaigning in vain)');
  assert.equal(net.term(1), 1, 'pre-votes did not raise its term');
  const leaders = net.leaders();
  assert.equal(leaders.length, 1);
  const lead = leaders[0] as number;
  net.recover();
  net.tick(3);
  assert.equal(net.lead(1), lead);
  assert.equal(net.term(1), net.term(lead));
});
