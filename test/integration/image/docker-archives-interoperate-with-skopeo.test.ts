import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore, buildBusyboxLayout } from '../../../worker/engine/image/index.js';
import { collect, requireRoot, requireTool, withTempDir } from './image-harness.js';

test('a docker-archive written by skopeo (legacy layout, symlinked layers) loads with the same image ID, and skopeo reads the archives the store saves', async () => {
  requireRoot('unpacking layers with owners');
  requireTool('skopeo');
  await withTempDir('dax', async (dir) => {
    const layout = join(dir, 'layout');
    await buildBusyboxLayout(layout);
    const theirs = join(dir, 'theirs.tar');
    const tag = `dax${process.pid}/busybox:sk`;
    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:latest`, `docker-archive:${theirs}:${tag}`]);
    const expectedId = (JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:latest`], { encoding: 'utf8' })) as { config: { digest: string } }).config.digest;

    const store = await ImageStore.open(join(dir, 'image'));
    assert.deepEqual((await store.load(createReadStream(theirs))).loaded, [tag]);
    const img = store.resolve(tag);
    assert.equal(img?.id, expectedId, 'image ID = config digest survives the docker-archive trip');
    assert.ok(store.lowerDirs(tag).length === 1);

    const ours = join(dir, 'ours.tar');
    writeFileSync(ours, await collect(store.save([tag], 'docker')));
    const cfg = execFileSync('skopeo', ['inspect', '--raw', `docker-archive:${ours}`], { encoding: 'utf8' });
    assert.equal((JSON.parse(cfg) as { config: { digest: string } }).config.digest, expectedId, 'skopeo sees the same config in our archive');
    execFileSync('skopeo', ['copy', '-q', `docker-archive:${ours}`, `oci:${join(dir, 'back')}:latest`]);
    const back = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${join(dir, 'back')}:latest`], { encoding: 'utf8' })) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(back.rootfs.diff_ids, img!.layers.map((l) => l.diffId));
  });
});
