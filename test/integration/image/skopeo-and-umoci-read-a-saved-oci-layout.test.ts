import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '../../../worker/engine/image/index.js';
import { collect, makeTar, requireRoot, requireTool, streamOf, withTempDir } from './image-harness.js';

test('an OCI layout saved by the store is read by skopeo (inspect, copy keeps the manifest digest) and unpacked by umoci', async () => {
  requireRoot('unpacking layers with owners');
  requireTool('skopeo');
  requireTool('umoci');
  await withTempDir('sk', async (dir) => {
    const store = await ImageStore.open(join(dir, 'image'));
    const ref = `sk${process.pid}/tool:latest`;
    const img = await store.importRootfs(streamOf(await makeTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/hi', data: 'hi', mode: 0o755 }])), { ref, changes: ['CMD ["/bin/hi"]'] });
    const layout = join(dir, 'layout');
    mkdirSync(layout);
    execFileSync('tar', ['-x', '-C', layout], { input: await collect(store.save([ref], 'oci')) });

    const info = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:latest`], { encoding: 'utf8' })) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, img.manifestDigest);
    const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${layout}:latest`], { encoding: 'utf8' })) as { rootfs: { diff_ids: string[] }; config: { Cmd: string[] } };
    assert.deepEqual(cfg.rootfs.diff_ids, [img.layers[0]!.diffId]);
    assert.deepEqual(cfg.config.Cmd, ['/bin/hi']);

    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:latest`, `oci:${join(dir, 'copy')}:latest`]);
    const copied = JSON.parse(readFileSync(join(dir, 'copy', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(copied.manifests[0]!.digest, img.manifestDigest, 'skopeo copy keeps the manifest digest');

    execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, join(dir, 'bundle')], { stdio: 'pipe' });
    assert.equal(readFileSync(join(dir, 'bundle', 'rootfs', 'bin', 'hi'), 'utf8'), 'hi');
    assert.ok(readdirSync(join(dir, 'bundle')).includes('config.json'));

    // And back: skopeo's copy loads into a fresh store with the same ID and digest.
    const copyTar = execFileSync('tar', ['-c', '-C', join(dir, 'copy'), '.']);
    const other = await ImageStore.open(join(dir, 'other'));
    const { loaded } = await other.load(streamOf(copyTar));
    assert.equal(loaded.length, 1);
    assert.equal(other.resolve(loaded[0]!)?.id, img.id);
    assert.equal(other.resolve(loaded[0]!)?.manifestDigest, img.manifestDigest);
  });
});
