import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, logOf, Network, storageWithLog } from './network.js';
import { MessageType, ProgressState, RaftRole } from '../../../manager/raft/core/types.js';

test('§5.3 a proposal is replicated to every follower and applied in order everywhere', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  for (const d of ['a', 'b', 'c']) net.propose(1, d);
  for (const id of [1, 2, 3]) assert.deepEqual(net.appliedData(id), ['a', 'b', 'c']);
  assert.equal(logOf(net.node(2)), logOf(net.node(1)));
});

test('§5.3 Fig. 7: a rejoining old leader has its divergent uncommitted tail replaced by the new leader\'s log', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.propose(1, 'a');
  net.isolate(1);
  for (const d of ['x', 'y', 'z']) net.propose(1, d); // never committed
  net.campaign(2);
  net.propose(2, 'b');
  net.recover();
  net.tick(1, [2]);
  assert.equal(net.role(1), RaftRole.Follower);
  assert.equal(logOf(net.node(1)), logOf(net.node(2)));
  assert.deepEqual(net.appliedData(1), ['a', 'b']);
});

test('fast log rejection: a long divergent tail of an old term is skipped in one round trip (term hints)', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  net.isolate(1);
  for (let i = 0; i < 50; i++) net.node(1).rn.propose(enc(`old${i}`));
  net.stabilize();
  net.campaign(2);
  net.propose(2, 'new');
  net.recover();
  const rejections = () => net.delivered.filter((m) => m.type === MessageType.AppResp && m.reject && m.from === 1).length;
  const before = rejections();
  net.tick(1, [2]);
  assert.ok(rejections() - before <= 2, `took ${rejections() - before} rejections`);
  assert.equal(logOf(net.node(1)), logOf(net.node(2)));
});

test('§5.4.2 Fig. 8: a new leader does not commit an old-term entry stored on a majority until an entry of its own term is', () => {
  // S1 and S2 hold 2@2; S5 holds 2@3; S3, S4 only 1@1. Everyone committed 1.
  const net = new Network([1, 2, 3, 4, 5]);
  const logs: Record<number, number[]> = { 1: [1, 2], 2: [1, 2], 3: [1], 4: [1], 5: [1, 3] };
  for (const id of [1, 2, 3, 4, 5]) net.addNode(id, storageWithLog([1, 2, 3, 4, 5], logs[id] as number[], 3, 1), { maxSizePerMsg: 0 });
  // Followers may receive term-2 entries but no term-4 entry (stripped), and S4/S5 nothing at all.
  net.msgHook = (m) => {
    if (m.from !== 1 || m.type !== MessageType.App) return true;
    if (m.to === 4 || m.to === 5) return false;
    m.entries = m.entries.filter((e) => e.term !== 4);
    return true;
  };
  net.campaign(1);
  assert.equal(net.role(1), RaftRole.Leader);
  assert.equal(net.term(1), 4);
  assert.equal(net.node(3).rn.logTerm(2), 2, '2@2 reached S3: now on S1, S2, S3');
  assert.equal(net.committed(1), 1, 'but it is not committed by counting replicas');
  net.msgHook = undefined;
  net.tick(1, [1]);
  assert.equal(net.committed(1), 3, 'committing 3@4 commits 2@2 with it');
  assert.equal(net.node(5).rn.logTerm(2), 2, 'S5\'s uncommitted 2@3 was overwritten');
});

test('§5.1 proposals on a follower are forwarded to the leader; with forwarding disabled or no leader they are dropped', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  assert.deepEqual(net.propose(2, 'via-2'), { ok: true });
  assert.deepEqual(net.appliedData(1), ['via-2']);
  const off = new Network([1, 2, 3], { disableProposalForwarding: true });
  off.campaign(1);
  const r = off.propose(2, 'x');
  assert.equal(r.ok, false);
  const lonely = new Network([1, 2, 3]);
  assert.equal(lonely.propose(1, 'x').ok, false, 'no leader yet');
  lonely.isolate(1);
  lonely.campaign(1);
  assert.equal(lonely.role(1), RaftRole.Candidate);
  assert.equal(lonely.propose(1, 'x').ok, false, 'candidates drop proposals');
});

test('flow control: a replicating follower gets at most maxInflightMsgs unacked MsgApps; acks free the window', () => {
  const net = new Network([1, 2], { maxInflightMsgs: 3, maxSizePerMsg: 0 });
  net.campaign(1);
  net.ignore(MessageType.AppResp);
  for (let i = 0; i < 10; i++) net.node(1).rn.propose(enc(`p${i}`));
  net.stabilize();
  const apps = net.delivered.filter((m) => m.type === MessageType.App && m.to === 2 && m.entries.length > 0);
  const pr = net.node(1).rn.status().progress?.get(2);
  assert.equal(pr?.state, ProgressState.Replicate);
  assert.equal(pr?.inflight, 3);
  assert.ok(apps.length >= 3);
  net.recover();
  net.tick(1, [1]); // heartbeat response lets the leader probe again; acks drain the window
  assert.equal(net.committed(2), net.committed(1));
  assert.deepEqual(net.appliedData(2).length, 10);
});

test('flow control: reportUnreachable moves a replicating follower back to probe, and a heartbeat response recovers it', () => {
  const net = new Network([1, 2]);
  net.campaign(1);
  net.node(1).rn.reportUnreachable(2);
  assert.equal(net.node(1).rn.status().progress?.get(2)?.state, ProgressState.Probe);
  net.tick(1, [1]);
  assert.equal(net.node(1).rn.status().progress?.get(2)?.state, ProgressState.Replicate);
});

test('the uncommitted-size limit drops proposals beyond it and frees room as entries commit', () => {
  const net = new Network([1, 2, 3], { maxUncommittedEntriesSize: 10 });
  net.campaign(1);
  net.isolate(2);
  net.isolate(3);
  const rn = net.node(1).rn;
  assert.equal(rn.propose(new Uint8Array(6)).ok, true);
  assert.equal(rn.propose(new Uint8Array(4)).ok, true);
  assert.equal(rn.propose(new Uint8Array(1)).ok, false, 'over the limit');
  net.stabilize();
  net.recover();
  net.tick(1, [1]);
  assert.equal(rn.uncommittedSize(), 0);
  assert.equal(rn.propose(new Uint8Array(8)).ok, true);
});

test('flow control: maxInflightBytes caps the bytes in flight to a replicating follower', () => {
  const net = new Network([1, 2], { maxInflightMsgs: 100, maxInflightBytes: 300, maxSizePerMsg: 100 });
  net.campaign(1);
  net.ignore(MessageType.AppResp);
  for (let i = 0; i < 10; i++) net.node(1).rn.propose(new Uint8Array(100));
  net.stabilize();
  const pr = net.node(1).rn.status().progress?.get(2);
  assert.equal(pr?.inflight, 3, '3 × 100 bytes fill the 300-byte window');
  net.recover();
  net.tick(1, [1]);
  assert.equal(net.node(2).applied.length, 10);
});
