import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, Network } from './network.js';
import { RawNode } from '../../../manager/raft/core/raw-node.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { encodeConfChange } from '../../../manager/raft/core/conf-change-codec.js';
import { newMessage } from '../../../manager/raft/core/message.js';
import {
  ConfChangeTransition, ConfChangeType, EntryType, MessageType, RaftRole, seededRandom, type Message,
} from '../../../manager/raft/core/types.js';

test('§9.6 dueling pre-candidates: the one that loses its pre-vote never passes the leader\'s term and rejoins it without an election', () => {
  const net = new Network([1, 2, 3], { preVote: true });
  net.cut(1, 3);
  net.campaign(1);
  assert.equal(net.role(1), RaftRole.Leader);
  const term = net.term(1);
  net.campaign(3);
  // 2 has the leader's entry of the new term: 3's log is not up to date, so its pre-vote is refused.
  assert.equal(net.role(3), RaftRole.Follower, 'a pre-candidate that lost goes back to follower');
  assert.equal(net.term(3), term, 'it learned the term from the refusal, and its own pre-vote raised nothing');
  net.recover();
  net.tick(2, [1]);
  assert.equal(net.role(1), RaftRole.Leader);
  assert.equal(net.term(1), term, 'the leader was not disturbed');
  assert.equal(net.lead(3), 1);
  assert.equal(net.term(3), term);
});

test('§9.6 pre-candidates campaigning at once both pass the pre-vote, yet the real election elects one leader per term', () => {
  const net = new Network([1, 2, 3], { preVote: true });
  net.cut(1, 3);
  net.node(1).rn.campaign();
  net.node(3).rn.campaign();
  net.stabilize();
  assert.deepEqual(net.leaders(), [1], 'node 2 votes once in the term: for the first candidate that asked');
  assert.equal(net.role(3), RaftRole.Candidate, 'the other candidate lacks a quorum and waits');
  assert.equal(net.term(3), net.term(1));
  net.recover();
  net.tick(2, [1]);
  assert.equal(net.role(3), RaftRole.Follower, 'a candidate steps down on hearing the leader of its own term');
  assert.equal(net.lead(3), 1);
});

test('§5.2 a candidate that receives an append from a leader of its own term or a later one becomes its follower', () => {
  for (const leaderTermDelta of [0, 1]) {
    const net = new Network([1, 2, 3]);
    net.isolate(1);
    net.campaign(1);
    assert.equal(net.role(1), RaftRole.Candidate);
    const term = net.term(1) + leaderTermDelta;
    net.node(1).rn.step(newMessage({ type: MessageType.App, from: 2, to: 1, term, index: 0, logTerm: 0 }));
    assert.equal(net.role(1), RaftRole.Follower);
    assert.equal(net.term(1), term);
    assert.equal(net.lead(1), 2);
  }
});

test('§5.2 a candidate drops proposals: there is no leader to forward them to', () => {
  const net = new Network([1, 2, 3]);
  net.isolate(1);
  net.campaign(1);
  assert.equal(net.role(1), RaftRole.Candidate);
  const r = net.node(1).rn.propose(enc('x'));
  assert.equal(r.ok, false);
});

test('CheckQuorum: a candidate stuck at a higher term that in-lease followers ignore is freed — the leader learns its term and a new election follows', () => {
  const net = new Network([1, 2, 3], { checkQuorum: true });
  net.campaign(1);
  net.isolate(3);
  net.tick(40, [3]);
  const stuck = net.term(3);
  assert.equal(net.role(3), RaftRole.Candidate);
  assert.ok(stuck > net.term(1), 'the isolated node kept campaigning at rising terms');
  net.recover();
  // Node 2 heard from the leader recently: it ignores node 3's higher-term vote requests.
  net.tick(1, [3]);
  net.node(3).rn.campaign();
  net.stabilize();
  assert.equal(net.role(1), RaftRole.Leader, 'followers in lease ignore the stuck candidate');
  // The leader's next heartbeat reaches node 3, whose reply carries the higher term.
  net.tick(1, [1]);
  assert.equal(net.role(1), RaftRole.Follower);
  assert.ok(net.term(1) >= stuck);
  net.tick(40);
  const leaders = net.leaders();
  assert.equal(leaders.length, 1, 'exactly one leader after the cluster settles');
  const t = net.term(leaders[0]!);
  assert.ok(t > stuck, 'the new leader was elected at a term above the stuck candidate\'s');
  for (const id of [1, 2, 3]) assert.equal(net.term(id), t);
});

test('a node with a committed but unapplied conf change does not campaign until it has applied it', () => {
  const storage = MemoryStorage.bootstrap([1, 2, 3]);
  const cc = encodeConfChange({
    transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: 4 }], context: new Uint8Array(),
  });
  storage.append([
    { index: 1, term: 1, type: EntryType.Normal, data: new Uint8Array() },
    { index: 2, term: 1, type: EntryType.ConfChange, data: cc },
  ]);
  storage.setHardState({ term: 1, vote: 0, commit: 2 });
  const rn = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage, applied: 1, random: seededRandom(3) });
  rn.campaign();
  for (let i = 0; i < 30; i++) rn.tick();
  assert.equal(rn.status().softState.role, RaftRole.Follower, 'it must not campaign with a conf change in (applied, committed]');
  assert.equal(rn.status().hardState.term, 1);
  const rd = rn.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [2]);
  rn.applyConfChange({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: 4 }], context: new Uint8Array() });
  rn.campaign();
  assert.equal(rn.status().softState.role, RaftRole.Follower, 'still not applied until advance()');
  rn.advance();
  rn.campaign();
  assert.equal(rn.status().softState.role, RaftRole.Candidate);
  assert.equal(rn.status().hardState.term, 2);
});

test('§5.4 a candidate that wins an old term late (delayed vote grants) commits nothing and is deposed by the newer term', () => {
  const net = new Network([1, 2, 3]);
  // Node 2 asks for votes in term 1; the grants are held back in the network.
  const held: Message[] = [];
  net.msgHook = (m) => {
    if (m.type === MessageType.VoteResp && m.to === 2) { held.push(m); return false; }
    return true;
  };
  net.campaign(2);
  assert.equal(held.filter((m) => !m.reject).length, 2, 'both peers granted term 1');
  net.msgHook = undefined;
  net.isolate(2);
  // Meanwhile node 1 wins term 2 and commits entries there.
  net.campaign(1);
  net.propose(1, 'term-2 write');
  assert.deepEqual(net.appliedData(3), ['term-2 write']);
  const committed = net.committed(1);
  // The old grants arrive: node 2 becomes leader of term 1, without the term-2 entries.
  for (const m of held) net.node(2).rn.step(m);
  net.stabilize();
  assert.equal(net.role(2), RaftRole.Leader);
  assert.equal(net.term(2), 1);
  net.node(2).rn.propose(enc('stale write'));
  net.stabilize();
  net.recover();
  net.tick(1, [1, 2]);
  net.tick(3, [1]);
  assert.equal(net.role(2), RaftRole.Follower, 'the newer term deposes it');
  assert.equal(net.lead(2), 1);
  assert.ok(net.committed(1) >= committed);
  for (const id of [1, 2, 3]) {
    assert.deepEqual(net.appliedData(id), ['term-2 write'], `node ${id}: the stale leader's write never commits`);
  }
});
