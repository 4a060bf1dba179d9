import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ImageError, ImageStore, buildBusyboxLayout, registryTarget } from '../../../worker/engine/image/index.js';
import { leftovers, requireRoot, withTempDir } from './image-harness.js';

interface Registry {
  port: number;
  /** digest of the index served for :latest (index mode) */
  listDigest: string;
  scopes: string[];
  close(): Promise<void>;
}

/** A registry v2 on 127.0.0.1 that serves one OCI layout as library/busybox, behind anonymous Bearer auth. */
async function serveLayout(layout: string, opts: { index: boolean; corruptLayers: boolean }): Promise<Registry> {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; size: number }[] };
  const top = index.manifests[0]!;
  const blob = (d: string): Buffer => readFileSync(join(layout, 'blobs', 'sha256', d.replace('sha256:', '')));
  const listBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: top.digest, size: top.size, platform: { architecture: 'amd64', os: 'linux' } }] }));
  const scopes: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      scopes.push(url.searchParams.get('scope') ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token: 'good-token' }));
      return;
    }
    if (req.headers.authorization !== 'Bearer good-token') {
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.1:${(server.address() as AddressInfo).port}/token",service="test-registry",scope="repository:library/busybox:pull"`);
      res.end();
      return;
    }
    const m = /^\/v2\/library\/busybox\/(manifests|blobs)\/(.+)$/.exec(url.pathname);
    try {
      if (m === null) throw new Error('unknown');
      if (m[1] === 'manifests' && m[2] === 'latest') {
        res.setHeader('content-type', opts.index ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json');
        res.end(opts.index ? listBytes : blob(top.digest));
        return;
      }
      if (m[1] === 'manifests' && m[2] === top.digest) {
        res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
        res.end(blob(top.digest));
        return;
      }
      const data = blob(m[2]!);
      const isLayer = data.length > 10_000;
      res.end(isLayer && opts.corruptLayers ? Buffer.concat([data.subarray(0, data.length - 1), Buffer.from([data[data.length - 1]! ^ 1])]) : data);
    } catch {
      res.statusCode = 404;
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN' }] }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    listDigest: `sha256:${createHash('sha256').update(listBytes).digest('hex')}`,
    scopes,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('registry names map to Docker Hub or to the named host, with plain HTTP only for loopback', () => {
  assert.deepEqual(registryTarget('busybox'), { base: 'https://registry-1.docker.io', repository: 'library/busybox', reference: 'latest' });
  assert.deepEqual(registryTarget('foo/bar:1'), { base: 'https://registry-1.docker.io', repository: 'foo/bar', reference: '1' });
  assert.deepEqual(registryTarget('127.0.0.1:5000/x/y'), { base: 'http://127.0.0.1:5000', repository: 'x/y', reference: 'latest' });
  assert.deepEqual(registryTarget('reg.example.com/a@sha256:' + 'b'.repeat(64)), { base: 'https://reg.example.com', repository: 'a', reference: 'sha256:' + 'b'.repeat(64) });
});

test('pull through Bearer auth and an image index gives the image the registry describes, with its repo digest', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('pull', async (dir) => {
    const layout = join(dir, 'layout');
    const manifestDigest = await buildBusyboxLayout(layout);
    const configDigest = (JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8')) as { config: { digest: string } }).config.digest;
    const reg = await serveLayout(layout, { index: true, corruptLayers: false });
    try {
      const store = await ImageStore.open(join(dir, 'image'));
      const ref = `127.0.0.1:${reg.port}/library/busybox`;
      const progress: string[] = [];
      const img = await store.pull(ref, (m) => progress.push(String(m['status'])));
      assert.equal(img.id, configDigest);
      assert.equal(img.manifestDigest, manifestDigest);
      assert.deepEqual(img.repoTags, [`${ref}:latest`]);
      // as Docker: the repo digest (and the Digest: line) is the index's when the tag names an index
      const listDigest = reg.listDigest;
      assert.deepEqual(img.repoDigests, [`${ref}@${listDigest}`]);
      assert.equal(store.resolve(`${ref}:latest@${listDigest}`)?.id, img.id);
      assert.deepEqual(reg.scopes, ['repository:library/busybox:pull']);
      assert.ok(progress.includes(`Digest: ${listDigest}`) && progress.includes('Pulling fs layer'), progress.join(' | '));
      assert.equal(store.resolve(`${ref}@${manifestDigest}`)?.id, img.id);
      assert.ok(store.lowerDirs(img.id).length === 1);
      // Pull by digest; the layer is already there.
      const again: string[] = [];
      await store.pull(`${ref}@${manifestDigest}`, (m) => again.push(String(m['status'])));
      assert.ok(again.includes('Already exists'));
      await assert.rejects(store.pull(`${ref}:nope`), (e: unknown) => e instanceof ImageError && e.status === 404 && /manifest unknown/.test(e.message));
    } finally {
      await reg.close();
    }
  });
});

test('a registry that sends a corrupted layer fails the pull with a digest error and leaves nothing in the store', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('pullbad', async (dir) => {
    const layout = join(dir, 'layout');
    await buildBusyboxLayout(layout);
    const reg = await serveLayout(layout, { index: false, corruptLayers: true });
    try {
      const root = join(dir, 'image');
      const store = await ImageStore.open(root);
      await assert.rejects(store.pull(`127.0.0.1:${reg.port}/library/busybox:latest`), (e: unknown) => e instanceof ImageError && /digest mismatch/.test(e.message));
      assert.deepEqual(leftovers(root), { layers: [], blobs: [], tmp: [] });
      assert.deepEqual(store.list(), []);
    } finally {
      await reg.close();
    }
  });
});
