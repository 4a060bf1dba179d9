/**
 * Two engines' image stores in one process (two data roots), node certificates from a real cluster
 * root CA, the serving node's peer listener on 127.0.0.1 over mutual TLS: the other node fetches an
 * image it lacks with no registry, verifying every digest; a corrupted blob on the serving node is
 * detected and refused with nothing kept; strangers are refused at the handshake or by the identity
 * check (peer-cluster.ts: what the swarm wiring uses); ensureImage tries a real registry (Debian's docker-registry) first and falls back to a peer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR, type NodeRole } from '../../../manager/ca/identity.js';
import { ensureBusybox, ImageStore } from '../../../worker/engine/image/index.js';
import type { ImageRecord } from '../../../worker/engine/image/image-record.js';
import type { Digest } from '../../../worker/engine/image/digest.js';
import { PeerClient } from '../../../worker/engine/image/peer-client.js';
import { ensureImage, pullFromPeers, type PeerSource } from '../../../worker/engine/image/peer-pull.js';
import { startPeerServer, type PeerServer } from '../../../worker/engine/image/peer-server.js';
import { advertisePeer, peerAuthorizer, peersFromNodes, type PeerNode } from '../../../worker/engine/image/peer-cluster.js';
import { leftovers, makeTar, requireRoot, streamOf, withTempDir } from '../image/image-harness.js';
import { startRegistry } from './registry-fixture.js';

const CLUSTER = 'peercluster1';
const NOW = new Date();

interface NodeTls {
  certPem: string;
  keyPem: string;
  rootPem: string;
}

async function nodeTls(ca: RootCA, nodeId: string, role: NodeRole = 'worker', clusterId = CLUSTER): Promise<NodeTls> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role, clusterId, now: NOW }), rootPem: ca.certPem };
}

const removed = new Set<string>();

/** A store Node as the swarm would hold it, advertising a peer listener. */
const nodeAt = (id: string, port: number, state = 'ready'): PeerNode => ({ ID: id, Description: { Engine: { Labels: advertisePeer('127.0.0.1', port) } }, Status: { State: state } });

/** A one-layer image as a build on that node would leave it (not in any registry). */
async function localApp(store: ImageStore, tag: string): Promise<ImageRecord> {
  const payload = Buffer.alloc(300_000, 7); // larger than one progress step
  const tar = await makeTar([
    { name: 'app/', type: 'directory' },
    { name: 'app/run.sh', data: '#!/bin/sh\necho app\n', mode: 0o755 },
    { name: 'app/data.bin', data: payload },
  ]);
  const rec = await store.importRootfs(streamOf(tar), { changes: ['CMD ["/app/run.sh"]', 'ENV APP=1'] });
  await store.tag(rec.id, tag);
  return store.get(tag);
}

describe('peer image distribution between two engines over mutual TLS', () => {
  let ca: RootCA;
  let tlsA: NodeTls;
  let tlsB: NodeTls;
  let storeA: ImageStore;
  let serverA: PeerServer;
  let busybox: ImageRecord;
  let app: ImageRecord;
  let dirA = '';

  before(async () => {
    requireRoot('peer distribution (layers unpack with whiteouts and xattrs)');
    ca = await RootCA.create({ clusterId: CLUSTER, now: NOW });
    tlsA = await nodeTls(ca, 'node-a');
    tlsB = await nodeTls(ca, 'node-b');
    dirA = await mkdtemp(join(tmpdir(), `shoal-peer-a-${process.pid}-`));
    storeA = await ImageStore.open(join(dirA, 'image'));
    busybox = await ensureBusybox(storeA);
    app = await localApp(storeA, 'peerapp:1');
    serverA = await startPeerServer({ store: storeA, tls: tlsA, authorize: peerAuthorizer(CLUSTER, (n) => removed.has(n)) });
  });
  after(async () => {
    await serverA?.close();
    if (dirA !== '') await rm(dirA, { recursive: true, force: true });
  });

  const clientOfA = (tls: NodeTls = tlsB): PeerClient => peersFromNodes([nodeAt('node-a', serverA.port)], 'node-b', tls)[0]!;

  test('an image on node A is fetched by node B with no registry: same image ID and manifest digest, layers unpacked, by tag, pinned digest or ID', async () => {
    await withTempDir('peer-b', async (dir) => {
      const storeB = await ImageStore.open(join(dir, 'image'));
      const lines: Record<string, unknown>[] = [];
      const got = await pullFromPeers(storeB, 'busybox:latest', [clientOfA()], (m) => lines.push(m));
      assert.equal(got.id, busybox.id);
      assert.equal(got.manifestDigest, busybox.manifestDigest);
      assert.deepEqual(got.repoTags, ['busybox:latest']);
      assert.deepEqual(got.layers.map((l) => l.diffId), busybox.layers.map((l) => l.diffId));
      assert.ok(lines.some((m) => m['status'] === 'Pull complete'), 'docker-style progress per layer');
      assert.ok(lines.some((m) => m['status'] === `Status: Downloaded newer image for busybox:latest`));

      const app1 = await pullFromPeers(storeB, `peerapp:1@${app.manifestDigest}`, [clientOfA()]);
      assert.equal(app1.id, app.id);
      assert.deepEqual(app1.repoDigests, [`peerapp@${app.manifestDigest}`]);
      assert.deepEqual(storeB.documents(app1.id).config.config?.Cmd, ['/app/run.sh']);
      // by image ID: nothing to fetch twice; "up to date"
      const again: Record<string, unknown>[] = [];
      assert.equal((await pullFromPeers(storeB, app.id, [clientOfA()], (m) => again.push(m))).id, app.id);
      assert.ok(again.some((m) => String(m['status']).startsWith('Status: Image is up to date')));
      // B's blobs are A's, byte for byte
      for (const d of [busybox.manifestDigest, ...storeA.documents(busybox.id).manifest.layers.map((l) => l.digest)] as Digest[]) {
        assert.deepEqual(await readFile(storeB.blobs.path(d)), await readFile(storeA.blobs.path(d)));
      }
    });
  });

  test('a corrupted blob on the serving node is detected and refused; nothing partial is kept; a good peer after it serves', async () => {
    await withTempDir('peer-c', async (dir) => {
      // node C has a good copy of the app image
      const storeC = await ImageStore.open(join(dir, 'c-image'));
      const tlsC = await nodeTls(ca, 'node-c');
      await pullFromPeers(storeC, 'peerapp:1', [clientOfA(tlsC)]);
      const serverC = await startPeerServer({ store: storeC, tls: tlsC, authorize: peerAuthorizer(CLUSTER) });
      const layer = storeA.documents(app.id).manifest.layers[0]!.digest;
      const file = storeA.blobs.path(layer);
      const good = await readFile(file);
      const bad = Buffer.from(good);
      bad[bad.length >> 1] ^= 0xff; // same size, one byte changed
      await writeFile(file, bad);
      try {
        const rootB = join(dir, 'b-image');
        const storeB = await ImageStore.open(rootB);
        await assert.rejects(pullFromPeers(storeB, 'peerapp:1', [clientOfA()]), (e: Error) => {
          assert.match(e.message, new RegExp(`blob digest mismatch: expected ${layer}, content is sha256:[0-9a-f]{64} \\(from peer node-a \\(127\\.0\\.0\\.1:\\d+\\)\\); nothing was stored`));
          return true;
        });
        assert.deepEqual(storeB.list(), []);
        assert.deepEqual(leftovers(rootB), { layers: [], blobs: [], tmp: [] }, 'nothing of the refused image is kept');

        const fromC = peersFromNodes([nodeAt('node-c', serverC.port)], 'node-b', tlsB)[0]!;
        const got = await pullFromPeers(storeB, 'peerapp:1', [clientOfA(), fromC]);
        assert.equal(got.id, app.id, 'the refused peer is skipped and the next one serves');
        assert.deepEqual(await readFile(storeB.blobs.path(layer)), good);
      } finally {
        await writeFile(file, good);
        await serverC.close();
      }
    });
  });

  test('a peer that answers with another image than a pinned digest or an expected ID asks for is refused before any blob moves', async () => {
    await withTempDir('peer-d', async (dir) => {
      const root = join(dir, 'image');
      const storeB = await ImageStore.open(root);
      // a peer that always answers with its busybox, whatever is asked (a stale tag, a bug, a liar)
      const real = clientOfA();
      const liar: PeerSource = { label: 'peer liar', manifest: () => real.manifest('busybox:latest'), blob: (d) => real.blob(d) };
      await assert.rejects(pullFromPeers(storeB, `peerapp:1@${app.manifestDigest}`, [liar]), new RegExp(`peer liar sent manifest ${busybox.manifestDigest} for peerapp:1@${app.manifestDigest}, which pins ${app.manifestDigest}`));
      await assert.rejects(pullFromPeers(storeB, app.id, [liar]), new RegExp(`peer liar serves image ${busybox.id} for ${app.id}, not ${app.id}`));
      await assert.rejects(pullFromPeers(storeB, 'peerapp:1', [liar], undefined, { expectedImageId: app.id }), /serves image sha256:[0-9a-f]{64} for peerapp:1, not sha256:/);
      assert.deepEqual(leftovers(root), { layers: [], blobs: [], tmp: [] }, 'no blob was fetched from the liar');
      // a pinned digest is content-addressed: the honest peer serves it whatever name it carries
      const app1 = await pullFromPeers(storeB, `busybox:latest@${app.manifestDigest}`, [liar, real]);
      assert.equal(app1.id, app.id);
      await assert.rejects(pullFromPeers(storeB, `nope:1@sha256:${'0'.repeat(64)}`, [real]), (e: Error & { status?: number }) => {
        assert.equal(e.status, 404);
        assert.match(e.message, /No such image: nope:1@sha256:0{64} on any peer node \(peer node-a .* answered 404/);
        return true;
      });
      await assert.rejects(pullFromPeers(storeB, 'Bad Ref', [real]), /invalid reference format/);
      await assert.rejects(pullFromPeers(storeB, 'busybox:latest', []), /no peer node to fetch it from/);
      assert.deepEqual(storeB.list().map((i) => i.id), [app.id]);
    });
  });

  test('strangers are refused: another CA at the handshake, another cluster by the identity check, the wrong server by the client', async () => {
    await withTempDir('peer-e', async (dir) => {
      const storeB = await ImageStore.open(join(dir, 'image'));
      const other = await RootCA.create({ clusterId: CLUSTER, now: NOW });
      const foreign = await nodeTls(other, 'intruder');
      await assert.rejects(pullFromPeers(storeB, 'busybox:latest', [new PeerClient({ address: serverA.address, tls: { ...foreign, rootPem: ca.certPem } })]), /did not answer GET \/shoal\/peer\/v1\/manifests\/busybox%3Alatest/);
      const elsewhere = await nodeTls(ca, 'node-x', 'worker', 'another-cluster');
      await assert.rejects(pullFromPeers(storeB, 'busybox:latest', [clientOfA(elsewhere)]), /answered 403 .*node node-x belongs to cluster another-cluster, not this one/);
      // an address the swarm lists for node-c, answered by node-a
      await assert.rejects(pullFromPeers(storeB, 'busybox:latest', peersFromNodes([nodeAt('node-c', serverA.port)], 'node-b', tlsB)), /server is node node-a, not node-c/);
      removed.add('node-b');
      try {
        await assert.rejects(pullFromPeers(storeB, 'busybox:latest', [clientOfA()]), /answered 403 .*node node-b was removed from the swarm/);
      } finally {
        removed.delete('node-b');
      }
      // the list holds only other ready nodes that advertise a listener
      const listed = peersFromNodes([nodeAt('node-b', 1), nodeAt('node-a', serverA.port), nodeAt('node-d', 2, 'down'), { ID: 'node-e', Status: { State: 'ready' } }], 'node-b', tlsB);
      assert.deepEqual(listed.map((c) => c.label), [`peer node-a (127.0.0.1:${serverA.port})`]);
      const dead = new PeerClient({ address: '127.0.0.1:1', tls: tlsB });
      await assert.rejects(pullFromPeers(storeB, 'busybox:latest', [dead]), /peer 127\.0\.0\.1:1 did not answer .*ECONNREFUSED/);
      assert.deepEqual(storeB.list(), []);
    });
  });

  test('tasks asking for the same image at once share one fetch from the peer', async () => {
    await withTempDir('peer-g', async (dir) => {
      const storeB = await ImageStore.open(join(dir, 'image'));
      const real = clientOfA();
      const asked = { manifests: 0, blobs: 0 };
      const counting: PeerSource = {
        label: real.label,
        manifest: (r) => (asked.manifests++, real.manifest(r)),
        blob: (d) => (asked.blobs++, real.blob(d)),
      };
      const all = await Promise.all(Array.from({ length: 5 }, () => ensureImage(storeB, 'peerapp:1', { order: 'peers-only', peers: () => [counting] })));
      assert.deepEqual(new Set(all.map((r) => r.id)), new Set([app.id]));
      assert.deepEqual(asked, { manifests: 1, blobs: 1 + storeA.documents(app.id).manifest.layers.length });
    });
  });

  test('ensureImage: the registry first (a real one on 127.0.0.1 that lacks the image), then the peer', async () => {
    const reg = await startRegistry();
    try {
      await withTempDir('peer-f', async (dir) => {
        const storeB = await ImageStore.open(join(dir, 'image'));
        const ref = `${reg.host}/team/app:1`;
        await storeA.tag('peerapp:1', ref);
        const lines: Record<string, unknown>[] = [];
        const got = await ensureImage(storeB, ref, { peers: () => [clientOfA()], onProgress: (m) => lines.push(m) });
        assert.equal(got.id, app.id);
        assert.deepEqual(got.repoTags, [ref]);
        assert.ok(lines.some((m) => String(m['status']).startsWith('Pulling from peer node-a')));
        // present now: no registry, no peer
        assert.equal((await ensureImage(storeB, ref, { peers: () => { throw new Error('not asked'); } })).id, app.id);
        // neither has it: both reasons, a 404
        await assert.rejects(ensureImage(storeB, `${reg.host}/team/none:1`, { peers: () => [clientOfA()] }), (e: Error & { status?: number }) => {
          assert.equal(e.status, 404);
          assert.match(e.message, /manifest for team\/none:1 not found: manifest unknown; then No such image: .*on any peer node/);
          return true;
        });
        assert.deepEqual(storeB.list().map((i) => i.id), [app.id]);
      });
    } finally {
      await reg.close();
    }
  });
});
