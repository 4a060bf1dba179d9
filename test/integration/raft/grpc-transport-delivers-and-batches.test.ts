// The gRPC transport delivers every message in order, coalesces what is queued during a write into
// few frames, carries a snapshot larger than 8 MiB in chunks, and refuses local message types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType } from '../../../manager/raft/core/types.js';
import { msg, startTransport } from './transport-helpers.js';

test('messages sent in bursts arrive in order, many per frame', async () => {
  const a = await startTransport(1);
  const b = await startTransport(2);
  try {
    a.t.addPeer(2, `127.0.0.1:${b.t.port}`);
    const n = 3000;
    for (let i = 1; i <= n; i++) a.t.send([msg(1, 2, { index: i, type: MessageType.App, entries: [{ term: 1, index: i, type: 0, data: new Uint8Array(64) }] })]);
    await b.rec.until(() => b.rec.received.length === n, `${n} messages`);
    assert.deepEqual(b.rec.received.map((m) => m.index), Array.from({ length: n }, (_, i) => i + 1));
    const stats = a.t.peerStats(2)!;
    assert.equal(stats.messagesSent, n);
    assert.ok(stats.framesSent < n / 10, `expected batching, got ${stats.framesSent} frames for ${n} messages`);
    assert.equal(b.t.inbound.frames, stats.framesSent);
    assert.equal(a.rec.unreachable.length, 0);
  } finally {
    await a.t.stop();
    await b.t.stop();
  }
});

test('a 9 MiB MsgSnap arrives intact in chunks and is reported finished', async () => {
  const a = await startTransport(1);
  const b = await startTransport(2);
  try {
    a.t.addPeer(2, `127.0.0.1:${b.t.port}`);
    const data = new Uint8Array(9 * (1 << 20) + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    a.t.send([msg(1, 2, {
      type: MessageType.Snap,
      snapshot: { data, metadata: { index: 77, term: 3, confState: { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
    })]);
    await a.rec.until(() => a.rec.snapshots.length === 1, 'snapshot outcome');
    assert.deepEqual(a.rec.snapshots, [{ id: 2, outcome: 'finish' }]);
    assert.equal(b.rec.received.length, 1);
    const got = b.rec.received[0]!;
    assert.equal(got.type, MessageType.Snap);
    assert.equal(got.snapshot?.metadata.index, 77);
    assert.deepEqual(got.snapshot?.metadata.confState.voters, [1, 2, 3]);
    assert.equal(Buffer.compare(Buffer.from(got.snapshot!.data), Buffer.from(data)), 0);
  } finally {
    await a.t.stop();
    await b.t.stop();
  }
});

test('messages addressed to another node or of a local type are not delivered', async () => {
  const a = await startTransport(1);
  const b = await startTransport(2);
  const c = await startTransport(3);
  try {
    // Peer 3 is registered at B's address: messages for 3 reach B, which must refuse them.
    a.t.addPeer(3, `127.0.0.1:${b.t.port}`);
    a.t.addPeer(2, `127.0.0.1:${b.t.port}`);
    a.t.send([msg(1, 3, { index: 1 }), msg(1, 2, { type: MessageType.Hup }), msg(1, 2, { index: 2 })]);
    await b.rec.until(() => b.rec.received.length === 1 && b.t.inbound.rejected === 1, 'one delivery and one refusal');
    assert.equal(b.rec.received[0]!.index, 2);
    assert.equal(c.rec.received.length, 0);
  } finally {
    await a.t.stop();
    await b.t.stop();
    await c.t.stop();
  }
});

test('sending to an unknown peer reports it unreachable (and a snapshot as failed)', async () => {
  const a = await startTransport(1);
  try {
    a.t.send([msg(1, 9), msg(1, 9, { type: MessageType.Snap, snapshot: { data: new Uint8Array(1), metadata: { index: 1, term: 1, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } } })]);
    assert.deepEqual(a.rec.unreachable, [9]);
    assert.deepEqual(a.rec.snapshots, [{ id: 9, outcome: 'failure' }]);
  } finally {
    await a.t.stop();
  }
});
