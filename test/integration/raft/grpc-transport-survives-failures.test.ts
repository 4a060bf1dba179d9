// The gRPC transport reports a dead peer unreachable, reconnects when it comes back on the same
// address, tells the receiver when an inbound stream breaks, gives up on a peer that accepts TCP but
// never answers (deadlines), and works over TLS with a self-signed certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { MessageType } from '../../../manager/raft/core/types.js';
import { msg, startTransport } from './transport-helpers.js';

test('a restarted peer on the same address receives messages again', async () => {
  const a = await startTransport(1, { limits: { backoffMinMs: 20, backoffMaxMs: 100 } });
  let b = await startTransport(2);
  const port = b.t.port;
  try {
    a.t.addPeer(2, `127.0.0.1:${port}`);
    a.t.send([msg(1, 2, { index: 1 })]);
    await b.rec.until(() => b.rec.received.length === 1, 'first delivery');
    await b.t.stop();
    // Keep sending until the break is noticed.
    await a.rec.until(() => { a.t.send([msg(1, 2, { index: 2 })]); return a.rec.unreachable.includes(2); }, 'peer 2 unreachable');
    b = await startTransport(2, { listen: `127.0.0.1:${port}` });
    await b.rec.until(() => { a.t.send([msg(1, 2, { index: 3 })]); return b.rec.received.some((m) => m.index === 3); }, 'delivery after restart');
    assert.ok(a.t.peerStats(2)!.streamsOpened >= 2);
  } finally {
    await a.t.stop();
    await b.t.stop();
  }
});

test('the receiver learns that the inbound stream from a peer broke when that peer stops', async () => {
  const a = await startTransport(1);
  const b = await startTransport(2);
  try {
    a.t.addPeer(2, `127.0.0.1:${b.t.port}`);
    a.t.send([msg(1, 2)]);
    await b.rec.until(() => b.rec.received.length === 1, 'delivery');
    assert.deepEqual(b.rec.broken, []);
    await a.t.stop();
    await b.rec.until(() => b.rec.broken.includes(1), 'broken-stream notice for peer 1');
  } finally {
    await a.t.stop();
    await b.t.stop();
  }
});

test('a peer that accepts TCP but never speaks gRPC: messages and a snapshot fail by deadline', async () => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => { sockets.push(s); s.on('error', () => {}); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const addr = silent.address();
  assert.ok(addr !== null && typeof addr === 'object');
  const a = await startTransport(1, { limits: { writeTimeoutMs: 300, snapshotDeadlineBaseMs: 500, snapshotDeadlinePerMiBMs: 0 } });
  try {
    a.t.addPeer(2, `127.0.0.1:${addr.port}`);
    a.t.send([msg(1, 2), msg(1, 2, { type: MessageType.Snap, snapshot: { data: new Uint8Array(100), metadata: { index: 1, term: 1, confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } } })]);
    await a.rec.until(() => a.rec.snapshots.length === 1 && a.rec.unreachable.includes(2), 'snapshot failure and unreachable report');
    assert.deepEqual(a.rec.snapshots, [{ id: 2, outcome: 'failure' }]);
  } finally {
    await a.t.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('TLS: peers with a self-signed certificate (made by openssl) exchange messages', async () => {
  const dir = mkdtempSync(join(tmpdir(), `shoal-tls-${process.pid}-`));
  try {
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=raft-peer',
        '-addext', 'subjectAltName=DNS:raft-peer,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
    } catch (e) {
      assert.fail(`openssl is needed to make a test certificate: ${e instanceof Error ? e.message : String(e)}`);
    }
    const cert = readFileSync(join(dir, 'cert.pem'));
    const key = readFileSync(join(dir, 'key.pem'));
    const serverCredentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
    const channelCredentials = grpc.credentials.createSsl(cert);
    const a = await startTransport(1, { serverCredentials, channelCredentials });
    const b = await startTransport(2, { serverCredentials, channelCredentials });
    const plain = await startTransport(3);
    try {
      a.t.addPeer(2, `127.0.0.1:${b.t.port}`);
      a.t.send([msg(1, 2, { index: 42 })]);
      await b.rec.until(() => b.rec.received.length === 1, 'delivery over TLS');
      assert.equal(b.rec.received[0]!.index, 42);
      // An insecure client cannot talk to the TLS server.
      plain.t.addPeer(2, `127.0.0.1:${b.t.port}`);
      await plain.rec.until(() => { plain.t.send([msg(3, 2)]); return plain.rec.unreachable.includes(2); }, 'plaintext refused');
      assert.ok(b.rec.received.every((m) => m.from === 1));
    } finally {
      await a.t.stop();
      await b.t.stop();
      await plain.t.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
