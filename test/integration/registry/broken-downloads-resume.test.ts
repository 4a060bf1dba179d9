/**
 * A layer download that breaks off half-way resumes from the bytes already on disk (HTTP Range), from
 * a real registry (Debian's docker-registry behind a proxy of the test's that cuts the first transfer)
 * and from a peer node's engine over mTLS; the result is verified whole. A source that cannot resume,
 * or keeps failing, fails the pull with nothing left behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR } from '../../../manager/ca/identity.js';
import type { Digest } from '../../../worker/engine/image/digest.js';
import { ImageStore } from '../../../worker/engine/image/index.js';
import type { ImageRecord } from '../../../worker/engine/image/image-record.js';
import { pullImage } from '../../../worker/engine/image/image-pull.js';
import { pushImage } from '../../../worker/engine/image/image-push.js';
import { PeerClient } from '../../../worker/engine/image/peer-client.js';
import { pullFromPeers, type PeerSource } from '../../../worker/engine/image/peer-pull.js';
import { startPeerServer, type PeerServer } from '../../../worker/engine/image/peer-server.js';
import { leftovers, makeTar, requireRoot, streamOf, withTempDir } from '../image/image-harness.js';
import { startRegistry, type RegistryFixture } from './registry-fixture.js';

interface CuttingProxy {
  port: number;
  /** Range headers of blob GETs, in order ("" for none) */
  ranges: string[];
  /** how many more blob transfers to cut half-way */
  cuts: number;
  close(): Promise<void>;
}

/** Forwards to the registry; a blob GET while `cuts` > 0 sends the headers and half the body, then drops the connection. */
async function cuttingProxy(upstreamPort: number, cuts: number): Promise<CuttingProxy> {
  const p: CuttingProxy = { port: 0, ranges: [], cuts, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    if (isBlob) p.ranges.push(String(req.headers.range ?? ''));
    const up = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (isBlob && body.length > 100_000 && p.cuts > 0) {
          p.cuts--;
          res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
          return;
        }
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.port = (server.address() as AddressInfo).port;
  p.close = () => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
  return p;
}

/** An image with one 3 MB incompressible layer. */
async function bigImage(store: ImageStore, tag: string): Promise<ImageRecord> {
  const tar = await makeTar([{ name: 'big.bin', data: randomBytes(3_000_000) }]);
  const rec = await store.importRootfs(streamOf(tar), {});
  await store.tag(rec.id, tag);
  return store.get(tag);
}

/** Wraps a peer: the first `cuts.n` whole-blob streams longer than 1 MB end with an error after it. */
function breakingPeer(real: PeerClient, cuts: { n: number; starts: [number, number][] }): PeerSource {
  return {
    label: real.label,
    manifest: (ref) => real.manifest(ref),
    blob: async (d: Digest) => {
      const s = await real.blob(d);
      let sent = 0;
      return Readable.from((async function* () {
        for await (const c of s) {
          sent += (c as Buffer).length;
          yield c as Buffer;
          if (sent > 1_000_000 && cuts.n > 0) {
            cuts.n--;
            s.destroy();
            throw new Error('connection reset by test');
          }
        }
      })());
    },
    blobFrom: async (d, offset) => {
      const r = await real.blobFrom(d, offset);
      cuts.starts.push([offset, r.start]);
      return r;
    },
  };
}

describe('broken downloads resume from where they stopped', () => {
  let reg: RegistryFixture;
  let dir = '';
  let storeA: ImageStore;
  let img: ImageRecord;
  let ref = '';
  before(async () => {
    requireRoot('pulling layers (they unpack with xattrs)');
    reg = await startRegistry();
    dir = await mkdtemp(join(tmpdir(), `shoal-resume-src-${process.pid}-`));
    storeA = await ImageStore.open(join(dir, 'image'));
    ref = `${reg.host}/big/layer:1`;
    img = await bigImage(storeA, ref);
    await pushImage(storeA, ref, '1');
  });
  after(async () => {
    await reg?.close();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  test('from a real registry: the first transfer is cut half-way, the pull resumes with Range and the image is whole', async () => {
    const proxy = await cuttingProxy(reg.port, 1);
    try {
      await withTempDir('resume-reg', async (d) => {
        const root = join(d, 'image');
        const store = await ImageStore.open(root);
        const lines: Record<string, unknown>[] = [];
        const got = await pullImage(store, `127.0.0.1:${proxy.port}/big/layer:1`, (m) => lines.push(m), { retryDelayMs: 20 });
        assert.equal(got.id, img.id);
        const layerRanges = proxy.ranges.filter((r) => r !== '');
        assert.equal(layerRanges.length, 1, `one resumed request: ${JSON.stringify(proxy.ranges)}`);
        assert.match(layerRanges[0]!, /^bytes=[1-9]\d*-$/, 'resumed from a byte past 0');
        assert.ok(lines.some((m) => String(m['status']).startsWith('Retrying in')), 'the retry shows in the progress');
        assert.deepEqual(leftovers(root).tmp, []);
      });
    } finally {
      await proxy.close();
    }
  });

  test('from a registry that keeps cutting: the pull fails after its attempts and leaves nothing', async () => {
    const proxy = await cuttingProxy(reg.port, 100);
    try {
      await withTempDir('resume-fail', async (d) => {
        const root = join(d, 'image');
        const store = await ImageStore.open(root);
        await assert.rejects(pullImage(store, `127.0.0.1:${proxy.port}/big/layer:1`, undefined, { retryDelayMs: 20 }), /downloading sha256:[0-9a-f]{64} from http:\/\/127\.0\.0\.1:\d+\/big\/layer failed/);
        assert.deepEqual(store.list(), []);
        assert.deepEqual(leftovers(root), { layers: [], blobs: [], tmp: [] });
      });
    } finally {
      await proxy.close();
    }
  });

  test('from a peer over mTLS: a stream broken half-way resumes with Range on the peer listener', async () => {
    const ca = await RootCA.create({ clusterId: 'resume', now: new Date() });
    const tls = async (nodeId: string) => {
      const { keyPem, csrPem } = await createKeyAndCSR();
      return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role: 'worker', clusterId: 'resume', now: new Date() }), rootPem: ca.certPem };
    };
    const server: PeerServer = await startPeerServer({ store: storeA, tls: await tls('a') });
    try {
      await withTempDir('resume-peer', async (d) => {
        const root = join(d, 'image');
        const store = await ImageStore.open(root);
        const cuts = { n: 1, starts: [] as [number, number][] };
        const peer = breakingPeer(new PeerClient({ address: server.address, name: 'a', tls: await tls('b') }), cuts);
        const lines: Record<string, unknown>[] = [];
        const got = await pullFromPeers(store, ref, [peer], (m) => lines.push(m), { retryDelayMs: 20 });
        assert.equal(got.id, img.id);
        assert.equal(cuts.n, 0, 'the first stream was cut');
        assert.equal(cuts.starts.length, 1);
        assert.ok(cuts.starts[0]![0] > 0 && cuts.starts[0]![1] === cuts.starts[0]![0], `the peer answered the range from where it stopped: ${JSON.stringify(cuts.starts)}`);
        assert.ok(lines.some((m) => String(m['status']).startsWith('Retrying in')));
        assert.deepEqual(leftovers(root).tmp, []);
      });
    } finally {
      await server.close();
    }
  });
});
