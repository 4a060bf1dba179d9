import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ImageStore, toDockerInspect, toDockerSummary } from '../../../worker/engine/image/index.js';
import { makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

test('importing a gzip rootfs makes a one-layer image with the changes applied, seen through Docker inspect and list shapes', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('imp', async (dir) => {
    const store = await ImageStore.open(join(dir, 'image'));
    const tar = await makeTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/hello', data: 'hello world', mode: 0o755 }]);
    const ref = `imp-${process.pid}/app:1`;
    const img = await store.importRootfs(streamOf(gzipSync(tar)), { ref, changes: ['CMD ["/bin/hello"]', 'ENV A=1', 'WORKDIR /srv', 'EXPOSE 8080', 'LABEL team=shoal', 'USER 1000', 'ENTRYPOINT ["/init"]'], message: 'from a test' });
    assert.match(img.id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(img.repoTags, [ref]);
    assert.equal(img.layers.length, 1);
    assert.equal(readFileSync(join(img.layers[0]!.dir, 'bin/hello'), 'utf8'), 'hello world');
    assert.equal(img.size, 'hello world'.length);
    assert.deepEqual(img.config.config?.Cmd, ['/bin/hello']);
    assert.deepEqual(store.lowerDirs(img.id), [img.layers[0]!.dir]);

    // Lookups by every name Docker accepts.
    for (const name of [ref, img.id, img.id.slice(7, 19), img.id.slice(0, 19), `${ref.split(':')[0]}@${img.manifestDigest}`]) {
      assert.equal(store.resolve(name)?.id, img.id, name);
    }
    assert.equal(store.resolve(`imp-${process.pid}/app`), undefined, ':latest was never tagged');

    const inspect = toDockerInspect(img);
    assert.equal(inspect.Id, img.id);
    assert.deepEqual(inspect.RepoTags, [ref]);
    assert.equal(inspect.Comment, 'from a test');
    assert.equal(inspect.Os, 'linux');
    assert.equal(inspect.Architecture, 'amd64');
    assert.deepEqual(inspect.RootFS, { Type: 'layers', Layers: [img.layers[0]!.diffId] });
    assert.deepEqual(inspect.Config['Env'], ['A=1']);
    assert.equal(inspect.Config['WorkingDir'], '/srv');
    assert.deepEqual(inspect.Config['ExposedPorts'], { '8080/tcp': {} });
    assert.deepEqual(inspect.Config['Entrypoint'], ['/init']);
    assert.equal(inspect.Config['User'], '1000');
    assert.equal(inspect.Size, img.size);
    const summary = toDockerSummary(img);
    assert.equal(summary.Id, img.id);
    assert.deepEqual(summary.Labels, { team: 'shoal' });
    assert.equal(summary.Created, Math.floor(Date.parse(img.created) / 1000));

    // Everything survives a reopen of the store.
    const reopened = await ImageStore.open(join(dir, 'image'));
    const again = reopened.resolve(ref);
    assert.equal(again?.id, img.id);
    assert.equal(again?.manifestDigest, img.manifestDigest);
    assert.deepEqual(reopened.lowerDirs(ref), store.lowerDirs(ref));
  });
});
