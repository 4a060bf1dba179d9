import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurabilityViolation, enc, Network } from './network.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { RawNode, ReadyContractError } from '../../../manager/raft/core/raw-node.js';
import { EntryType, MessageType, RaftRole, seededRandom, type Entry } from '../../../manager/raft/core/types.js';
import { newMessage } from '../../../manager/raft/core/message.js';

const cfg = (id: number, storage: MemoryStorage, extra: Partial<ConstructorParameters<typeof RawNode>[0]> = {}) => ({
  id, storage, electionTick: 10, heartbeatTick: 1, random: seededRandom(id), ...extra,
});

test('accepting a second Ready before advance() throws, and so does advance() without a Ready', () => {
  const rn = new RawNode(cfg(1, MemoryStorage.bootstrap([1])));
  rn.campaign();
  rn.ready();
  assert.throws(() => rn.ready(), ReadyContractError);
  rn.advance();
  assert.throws(() => rn.advance(), ReadyContractError);
});

test('mustSync is set for new entries or a term/vote change, not for a commit-only change', () => {
  const s = MemoryStorage.bootstrap([1]);
  const rn = new RawNode(cfg(1, s));
  rn.campaign();
  const rd1 = rn.ready();
  assert.equal(rd1.mustSync, true, 'term and vote changed');
  assert.deepEqual(rd1.hardState, { term: 1, vote: 1, commit: 0 });
  s.setHardState(rd1.hardState!); rn.advance();
  const rd2 = rn.ready(); // became leader: the empty entry
  assert.equal(rd2.entries.length, 1);
  assert.equal(rd2.mustSync, true);
  s.append(rd2.entries); rn.advance();
  const rd3 = rn.ready(); // the self-ack committed it
  assert.equal(rd3.entries.length, 0);
  assert.equal(rd3.hardState?.commit, 1);
  assert.equal(rd3.mustSync, false, 'commit alone needs no fsync');
  rn.advance();
});

test('a follower\'s MsgAppResp is handed out only in the Ready after the one carrying the entries it acks', () => {
  const s = MemoryStorage.bootstrap([1, 2]);
  const rn = new RawNode(cfg(2, s));
  const e: Entry = { index: 1, term: 1, type: EntryType.Normal, data: enc('x') };
  rn.step(newMessage({ type: MessageType.App, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [e], commit: 0 }));
  const rd1 = rn.ready();
  assert.equal(rd1.entries.length, 1);
  assert.equal(rd1.messages.filter((m) => m.type === MessageType.AppResp).length, 0);
  s.append(rd1.entries); s.setHardState(rd1.hardState!);
  rn.advance();
  assert.equal(rn.hasReady(), true);
  const rd2 = rn.ready();
  assert.deepEqual(rd2.messages.map((m) => [m.type, m.index]), [[MessageType.AppResp, 1]]);
  assert.equal(rd2.entries.length, 0);
  rn.advance();
});

test('a vote is granted on the wire only in the Ready after the one persisting it', () => {
  const s = MemoryStorage.bootstrap([1, 2, 3]);
  const rn = new RawNode(cfg(2, s));
  rn.step(newMessage({ type: MessageType.Vote, from: 1, to: 2, term: 1, index: 0, logTerm: 0 }));
  const rd1 = rn.ready();
  assert.deepEqual(rd1.hardState, { term: 1, vote: 1, commit: 0 });
  assert.equal(rd1.messages.length, 0);
  s.setHardState(rd1.hardState!);
  rn.advance();
  const rd2 = rn.ready();
  assert.deepEqual(rd2.messages.map((m) => [m.type, m.to, m.reject]), [[MessageType.VoteResp, 1, false]]);
  rn.advance();
});

test('a candidate counts its own vote only after advance() (its vote is durable)', () => {
  const rn = new RawNode(cfg(1, MemoryStorage.bootstrap([1])));
  rn.campaign();
  assert.equal(rn.status().softState.role, RaftRole.Candidate);
  rn.ready();
  rn.advance();
  assert.equal(rn.status().softState.role, RaftRole.Leader);
});

test('a driver that acks before persisting is caught by the durability checker (the order matters)', () => {
  const net = new Network([1, 2, 3], {}, { skipPersist: true });
  assert.throws(() => net.campaign(1), DurabilityViolation);
  const ok = new Network([1, 2, 3]);
  ok.campaign(1);
  ok.propose(1, 'fine');
  assert.deepEqual(ok.appliedData(3), ['fine']);
});

test('even a driver that sends each Ready before persisting it never acks unpersisted entries or votes', () => {
  const net = new Network([1, 2, 3], {}, { sendBeforePersist: true });
  net.campaign(1);
  for (const d of ['a', 'b']) net.propose(1, d);
  net.isolate(1);
  net.campaign(2);
  net.recover();
  net.propose(2, 'c');
  assert.deepEqual(net.appliedData(3), ['a', 'b', 'c']);
});

test('restart from hard state and entries: term, vote, commit and log come back; committed entries are re-applied after `applied`', () => {
  const net = new Network([1]);
  net.campaign(1);
  for (const d of ['a', 'b', 'c']) net.propose(1, d);
  const s = net.node(1).storage;
  const hs = s.hardState();
  const restarted = net.addNode(1, s, {}, 2); // applied up to index 2 ('a')
  const st = restarted.rn.status();
  assert.deepEqual(st.hardState, hs);
  assert.equal(st.softState.role, RaftRole.Follower);
  const rd = restarted.rn.ready();
  assert.deepEqual(rd.committedEntries.map((e) => new TextDecoder().decode(e.data)), ['b', 'c']);
  restarted.rn.advance();
  assert.equal(restarted.rn.status().applied, 4);
});

test('restart from a snapshot: the log starts after it and nothing at or below it is re-applied', () => {
  const s = MemoryStorage.bootstrap([1]);
  s.append([1, 2, 3, 4].map((i) => ({ index: i, term: 1, type: EntryType.Normal, data: enc(`e${i}`) })));
  s.createSnapshot(3, undefined, enc('state@3'));
  s.compact(3);
  s.setHardState({ term: 1, vote: 1, commit: 4 });
  const rn = new RawNode(cfg(1, s, { applied: 3 }));
  const rd = rn.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [4]);
  assert.equal(rd.snapshot, undefined);
  rn.advance();
  rn.campaign();
  assert.equal(rn.ready().hardState?.term, 2);
});

test('committed entries are paginated by maxCommittedSizePerReady', () => {
  const s = MemoryStorage.bootstrap([1]);
  s.append([1, 2, 3, 4, 5].map((i) => ({ index: i, term: 1, type: EntryType.Normal, data: new Uint8Array(100) })));
  s.setHardState({ term: 1, vote: 1, commit: 5 });
  const rn = new RawNode(cfg(1, s, { maxCommittedSizePerReady: 250 }));
  const batches: number[][] = [];
  while (rn.hasReady()) {
    const rd = rn.ready();
    if (rd.committedEntries.length > 0) batches.push(rd.committedEntries.map((e) => e.index));
    rn.advance();
  }
  assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
});

test('RawNode.step ignores local-only message types from the network and responses from unknown nodes', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  const rn = net.node(1).rn;
  const before = rn.status();
  rn.step(newMessage({ type: MessageType.Hup, from: 2, to: 1 }));
  rn.step(newMessage({ type: MessageType.AppResp, from: 42, to: 1, term: before.hardState.term, index: 5 }));
  assert.equal(rn.status().softState.role, RaftRole.Leader);
  assert.equal(rn.status().progress?.has(42), false);
});
