import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImageError, ImageStore } from '../../../worker/engine/image/index.js';
import { leftovers, makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

test('layer entries that would land outside the layer are refused with a 400, and nothing is left behind', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('trav', async (dir) => {
    const root = join(dir, 'image');
    const victim = join(dir, 'victim');
    const store = await ImageStore.open(root);
    const cases: { why: string; tar: Buffer }[] = [
      { why: 'dot-dot', tar: await makeTar([{ name: 'ok.txt', data: 'x' }, { name: `../victim`, data: 'pwned' }]) },
      { why: 'nested dot-dot', tar: await makeTar([{ name: 'a/', type: 'directory' }, { name: 'a/../../victim', data: 'pwned' }]) },
      { why: 'through a symlink', tar: await makeTar([{ name: 'esc', type: 'symlink', linkname: dir }, { name: 'esc/victim', data: 'pwned' }]) },
      { why: 'hardlink outside', tar: await makeTar([{ name: 'h', type: 'link', linkname: '../../../../etc/passwd' }]) },
    ];
    for (const c of cases) {
      await assert.rejects(store.importRootfs(streamOf(c.tar), { ref: `trav-${process.pid}:x` }), (e: unknown) => e instanceof ImageError && e.status === 400 && /path traversal|outside the layer/.test(e.message), c.why);
      assert.equal(existsSync(victim), false, `${c.why}: nothing written outside`);
      assert.deepEqual(leftovers(root), { layers: [], blobs: [], tmp: [] }, `${c.why}: no layer, blob or temp file left`);
      assert.deepEqual(store.list(), []);
    }
    // An absolute name is taken relative to the layer root (as tar does), not refused.
    const img = await store.importRootfs(streamOf(await makeTar([{ name: '/etc/abs.txt', data: 'in' }])), {});
    assert.equal(existsSync(join(img.layers[0]!.dir, 'etc/abs.txt')), true);
  });
});
