import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ImageStore } from '../../../worker/engine/image/index.js';
import { leftovers, makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

test('imports, removals and a failing import running at once leave every surviving image whole and one copy of the shared layer', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('conc', async (dir) => {
    const root = join(dir, 'image');
    const store = await ImageStore.open(root);
    const tar = await makeTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/x', data: 'same bytes' }]);
    const n = `c${process.pid}`;
    const first = await store.importRootfs(streamOf(tar), { ref: `${n}/gone:1` });
    const results = await Promise.allSettled([
      ...Array.from({ length: 6 }, (_, i) => store.importRootfs(streamOf(tar), { ref: `${n}/img:${i}`, changes: [`ENV I=${i}`] })),
      store.remove(`${n}/gone:1`, { force: false, inUse: () => false }),
      store.importRootfs(streamOf(Buffer.from('not a tar'.repeat(100))), { ref: `${n}/bad:1` }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    assert.equal(store.resolve(first.id), undefined);
    const imgs = store.list();
    assert.equal(imgs.length, 6);
    assert.equal(new Set(imgs.map((i) => i.layers[0]!.dir)).size, 1, 'one unpacked layer for all six');
    assert.equal(leftovers(root).layers.length, 1);
    // 6 configs + 6 manifests + 1 layer blob
    assert.equal(leftovers(root).blobs.length, 13);
    const reopened = await ImageStore.open(root);
    assert.equal(reopened.list().length, 6);
  });
});
