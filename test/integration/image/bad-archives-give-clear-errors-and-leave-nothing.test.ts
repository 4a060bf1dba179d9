import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImageError, ImageStore } from '../../../worker/engine/image/index.js';
import { leftovers, makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const is400 = (re: RegExp) => (e: unknown): boolean => e instanceof ImageError && e.status === 400 && re.test(e.message);

test('a broken rootfs tarball is a 400 that says what is wrong, and the store is left exactly as it was', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('bad', async (dir) => {
    const root = join(dir, 'image');
    const store = await ImageStore.open(root);
    const good = await store.importRootfs(streamOf(await makeTar([{ name: 'keep', data: 'k' }])), { ref: `bad${process.pid}:good` });
    const before = leftovers(root);
    const tar = await makeTar([{ name: 'a', data: 'x'.repeat(5000) }]);
    const gz = gzipSync(tar);
    const cases: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /empty/],
      ['garbage', Buffer.from('this is not a tarball at all, just text'.repeat(20)), /cannot unpack layer|invalid|tar/i],
      ['truncated gzip', gz.subarray(0, Math.floor(gz.length / 2)), /cannot be read|unexpected end/i],
      ['truncated tar', tar.subarray(0, 700), /cannot unpack layer|unexpected end|premature/i],
    ];
    for (const [why, data, re] of cases) {
      await assert.rejects(store.importRootfs(streamOf(data), { ref: `bad${process.pid}:${why.replace(/ /g, '-')}` }), is400(re), why);
      assert.deepEqual(leftovers(root), before, `${why}: no layer, blob or temp file left`);
      assert.deepEqual(store.list().map((i) => i.id), [good.id], why);
    }
    await assert.rejects(store.importRootfs(streamOf(tar), { ref: 'Not/Valid' }), is400(/invalid reference format/));
    await assert.rejects(store.importRootfs(streamOf(tar), { changes: ['RUN x'] }), is400(/not a valid change command/));
    assert.deepEqual(leftovers(root), before);
  });
});

test('a load whose layer does not match its diff_id, or whose blobs are missing or corrupt, is refused and leaves nothing', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('badload', async (dir) => {
    const root = join(dir, 'image');
    const store = await ImageStore.open(root);
    const layer = await makeTar([{ name: 'f', data: 'real' }]);
    const other = await makeTar([{ name: 'f', data: 'fake' }]);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] } }));
    const lying = await makeTar([
      { name: `${sha(config)}.json`, data: config },
      { name: 'l/layer.tar', data: other },
      { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: ['lie:1'], Layers: ['l/layer.tar'] }]) },
    ]);
    await assert.rejects(store.load(streamOf(lying)), is400(/does not match the image config/));
    const missing = await makeTar([{ name: 'manifest.json', data: JSON.stringify([{ Config: 'nope.json', Layers: [] }]) }]);
    await assert.rejects(store.load(streamOf(missing)), is400(/has no nope\.json/));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(layer)}`, size: layer.length }] }));
    const corrupt = await makeTar([
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length }] }) },
      { name: `blobs/sha256/${sha(manifest)}`, data: manifest },
      { name: `blobs/sha256/${sha(config)}`, data: config },
      { name: `blobs/sha256/${sha(layer)}`, data: other },
    ]);
    await assert.rejects(store.load(streamOf(corrupt)), is400(/digest mismatch/));
    await assert.rejects(store.load(streamOf(await makeTar([{ name: 'hello.txt', data: 'hi' }]))), is400(/neither an OCI image layout/));
    await assert.rejects(store.load(streamOf(Buffer.from('junk'.repeat(200)))), is400(/cannot be read/));
    assert.deepEqual(leftovers(root), { layers: [], blobs: [], tmp: [] });
    assert.deepEqual(store.list(), []);
  });
});
