/**
 * A layer upload that breaks off half-way is sent again: Debian's docker-registry behind a proxy of
 * the test's that drops the first PATCH after half its body. Distribution cancels an upload whose PATCH
 * broke off ("upload resumed at wrong offset"), so — as dockerd does — the push starts a new upload
 * session and sends the blob again, and the registry accepts it under its digest. A registry that
 * keeps dropping fails the push after 5 attempts with the reason.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImageStore } from '../../../worker/engine/image/index.js';
import type { ImageRecord } from '../../../worker/engine/image/image-record.js';
import { pullImage } from '../../../worker/engine/image/image-pull.js';
import { pushImage } from '../../../worker/engine/image/image-push.js';
import { makeTar, requireRoot, streamOf } from '../image/image-harness.js';
import { startRegistry, type RegistryFixture } from './registry-fixture.js';

interface DroppingProxy {
  port: number;
  /** method, path and Content-Range of every upload request, in order */
  seen: string[];
  drops: number;
  close(): Promise<void>;
}

/** Forwards to the registry; a large PATCH while `drops` > 0 is cut after half its body (both sides closed). */
async function droppingProxy(upstreamPort: number, drops: number): Promise<DroppingProxy> {
  const p: DroppingProxy = { port: 0, seen: [], drops, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').includes('/blobs/uploads/')) p.seen.push(`${req.method} ${String(req.headers['content-range'] ?? '')}`.trim());
    const up = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.method === 'PATCH' && length > 100_000 && p.drops > 0) {
      p.drops--;
      let sent = 0;
      req.on('data', (c: Buffer) => {
        if (sent >= length / 2) return;
        sent += c.length;
        up.write(c);
        if (sent >= length / 2) {
          // give the registry a moment to write what it got, then drop both connections
          setTimeout(() => {
            up.destroy();
            res.socket?.destroy();
          }, 200);
        }
      });
      return;
    }
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.port = (server.address() as AddressInfo).port;
  p.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return p;
}

describe('broken uploads are sent again in a new session', () => {
  let reg: RegistryFixture;
  let dir = '';
  let store: ImageStore;
  let img: ImageRecord;
  before(async () => {
    requireRoot('image layers (they unpack with xattrs)');
    reg = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), `shoal-upload-${process.pid}-`));
    store = await ImageStore.open(join(dir, 'image'));
    img = await store.importRootfs(streamOf(await makeTar([{ name: 'big.bin', data: randomBytes(3_000_000) }])), {});
  });
  after(async () => {
    await reg?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test('a PATCH cut half-way is sent again in a new upload session, and the pushed image pulls back whole', async () => {
    const proxy = await droppingProxy(reg.port, 1);
    try {
      const ref = `127.0.0.1:${proxy.port}/up/big`;
      await store.tag(img.id, `${ref}:1`);
      const lines: Record<string, unknown>[] = [];
      const [pushed] = await pushImage(store, ref, '1', (m) => lines.push(m), { retryDelayMs: 20 });
      assert.equal(proxy.drops, 0, 'one PATCH was cut');
      // the registry (distribution) cancels an upload whose PATCH broke off: a new session sends it again
      const layerPatches = proxy.seen.filter((x) => x === 'PATCH').length;
      const sessions = proxy.seen.filter((x) => x === 'POST').length;
      assert.equal(sessions, layerPatches, `one session per attempt: ${JSON.stringify(proxy.seen)}`);
      assert.equal(layerPatches, 3, `config + layer cut + layer again: ${JSON.stringify(proxy.seen)}`);
      assert.ok(lines.some((m) => m['status'] === 'Retrying in 1 second'));
      assert.ok(lines.some((m) => m['status'] === 'Pushed'));
      // straight from the registry: the blob is whole (the pull checks every digest)
      const other = await ImageStore.open(join(dir, 'other'));
      const back = await pullImage(other, `${reg.host}/up/big@${pushed!.digest}`);
      assert.equal(back.id, img.id);
    } finally {
      await proxy.close();
    }
  });

  test('a registry that keeps dropping the upload fails the push after its attempts, with the reason', async () => {
    const proxy = await droppingProxy(reg.port, 100);
    try {
      const ref = `127.0.0.1:${proxy.port}/up/never`;
      await store.tag(img.id, `${ref}:1`);
      await assert.rejects(pushImage(store, ref, '1', undefined, { retryDelayMs: 20 }), /uploading sha256:[0-9a-f]{64} to http:\/\/127\.0\.0\.1:\d+\/up\/never failed after 5 attempts/);
    } finally {
      await proxy.close();
    }
  });
});
