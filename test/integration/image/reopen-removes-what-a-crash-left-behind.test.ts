import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '../../../worker/engine/image/index.js';
import { leftovers, makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

test('reopening the store removes half-unpacked layers, unreferenced blobs and temp files, and keeps every image', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('crash', async (dir) => {
    const root = join(dir, 'image');
    const store = await ImageStore.open(root);
    const ref = `crash${process.pid}:1`;
    const img = await store.importRootfs(streamOf(await makeTar([{ name: 'f', data: 'x' }])), { ref });
    const clean = leftovers(root);

    // What an interrupted unpack, blob write and import leave.
    mkdirSync(join(root, 'layers', `.tmp-0123456789ab-deadbeef`, 'diff'), { recursive: true });
    mkdirSync(join(root, 'layers', 'f'.repeat(64), 'diff'), { recursive: true }); // no layer.json: never completed
    writeFileSync(join(root, 'tmp', 'blob-1-abc'), 'partial');
    writeFileSync(join(root, 'blobs', 'sha256', 'e'.repeat(64)), 'orphan');

    const again = await ImageStore.open(root);
    assert.deepEqual(leftovers(root), clean);
    assert.equal(again.resolve(ref)?.id, img.id);
    assert.deepEqual(again.lowerDirs(ref), store.lowerDirs(ref));
  });
});
