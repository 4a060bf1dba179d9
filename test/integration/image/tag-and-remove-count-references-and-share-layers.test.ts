import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError, ImageStore } from '../../../worker/engine/image/index.js';
import { leftovers, makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

test('rmi untags first, deletes the image with its last tag, refuses images in use, and keeps shared layers until no image needs them', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('rm', async (dir) => {
    const root = join(dir, 'image');
    const store = await ImageStore.open(root);
    const n = `rm${process.pid}`;
    const tar = await makeTar([{ name: 'f', data: 'shared' }]);
    const a = await store.importRootfs(streamOf(tar), { ref: `${n}/a:1`, changes: ['CMD ["a"]'] });
    const b = await store.importRootfs(streamOf(tar), { ref: `${n}/b:1`, changes: ['CMD ["b"]'] });
    assert.notEqual(a.id, b.id, 'different configs, different images');
    assert.equal(a.layers[0]!.chainId, b.layers[0]!.chainId);
    assert.equal(a.layers[0]!.dir, b.layers[0]!.dir, 'the same layer is unpacked once and shared');
    assert.equal(leftovers(root).layers.length, 1);

    await store.tag(`${n}/a:1`, `${n}/a:2`);
    await store.tag(a.id, `${n}/a`);
    assert.deepEqual(store.resolve(a.id)?.repoTags, [`${n}/a:1`, `${n}/a:2`, `${n}/a:latest`]);
    assert.equal(store.resolve(`${n}/a`)?.id, a.id);

    let used = new Set<string>([a.id]);
    const inUse = (id: string): boolean => used.has(id);
    // By ID with several tags: refused without force.
    await assert.rejects(store.remove(a.id, { force: false, inUse }), (e: unknown) => e instanceof ImageError && e.status === 409 && /multiple repositories/.test(e.message));
    // By tag while other tags remain: only untag.
    assert.deepEqual(await store.remove(`${n}/a:2`, { force: false, inUse }), { untagged: [`${n}/a:2`], deleted: [] });
    assert.deepEqual(await store.remove(`${n}/a`, { force: false, inUse }), { untagged: [`${n}/a:latest`], deleted: [] });
    // The last tag of an image a container uses: refused, then forced = untagged but kept.
    await assert.rejects(store.remove(`${n}/a:1`, { force: false, inUse }), (e: unknown) => e instanceof ImageError && e.status === 409 && /being used/.test(e.message));
    assert.deepEqual(await store.remove(`${n}/a:1`, { force: true, inUse }), { untagged: [`${n}/a:1`], deleted: [] });
    assert.deepEqual(store.resolve(a.id)?.repoTags, [], 'dangling, still there for its container');
    assert.ok(existsSync(a.layers[0]!.dir));

    // Container gone: removing by ID deletes it; the layer stays for b.
    used = new Set();
    assert.deepEqual(await store.remove(a.id, { force: false, inUse }), { untagged: [], deleted: [a.id] });
    assert.equal(store.resolve(a.id), undefined);
    assert.ok(existsSync(b.layers[0]!.dir), 'the shared layer is still used by b');
    // Last image: the layer goes with it, and the blob store is empty again.
    assert.deepEqual(await store.remove(`${n}/b:1`, { force: false, inUse }), { untagged: [`${n}/b:1`], deleted: [b.id, b.layers[0]!.chainId] });
    assert.equal(existsSync(b.layers[0]!.dir), false);
    assert.deepEqual(leftovers(root), { layers: [], blobs: [], tmp: [] });
    await assert.rejects(store.remove(`${n}/b:1`, { force: false, inUse }), (e: unknown) => e instanceof ImageError && e.status === 404);
  });
});

test('moving a tag leaves the old image dangling; prune removes dangling images that no container uses', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('prune', async (dir) => {
    const store = await ImageStore.open(join(dir, 'image'));
    const ref = `pr${process.pid}:v`;
    const old = await store.importRootfs(streamOf(await makeTar([{ name: 'v', data: '1' }])), { ref });
    const neu = await store.importRootfs(streamOf(await makeTar([{ name: 'v', data: '2' }])), { ref });
    assert.deepEqual(store.resolve(old.id)?.repoTags, []);
    assert.equal(store.resolve(ref)?.id, neu.id);
    const r = await store.prune({ dangling: true, inUse: () => false });
    assert.deepEqual(r.deleted, [old.id, old.layers[0]!.chainId]);
    assert.equal(r.spaceReclaimed, 1);
    assert.deepEqual(store.list().map((i) => i.id), [neu.id]);
  });
});
