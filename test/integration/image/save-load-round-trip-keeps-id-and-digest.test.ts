import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { ImageStore } from '../../../worker/engine/image/index.js';
import { collect, makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

async function members(archive: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = extract();
  const done = (async () => {
    for await (const e of ex) out.set(e.header.name, await collect(e as AsyncIterable<Buffer> as NodeJS.ReadableStream));
  })();
  ex.end(archive);
  await done;
  return out;
}

test('save in docker and OCI formats and load into another store: same image ID, same manifest digest for OCI, same files', async () => {
  requireRoot('unpacking layers with owners');
  await withTempDir('rt', async (dir) => {
    const src = await ImageStore.open(join(dir, 'src'));
    const n = `rt${process.pid}`;
    const a = await src.importRootfs(streamOf(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/a', data: 'A' }])), { ref: `${n}/a:1`, changes: ['CMD ["a"]'] });
    const b = await src.importRootfs(streamOf(await makeTar([{ name: 'b', data: 'B' }])), { ref: `${n}/b:1` });
    await src.tag(`${n}/a:1`, `${n}/a:2`);

    // docker format: Docker 25+'s layout — an OCI layout that is a docker-archive too
    const docker = await collect(src.save([`${n}/a:1`, `${n}/a:2`, b.id], 'docker'));
    const dm = await members(docker);
    const manifest = JSON.parse(dm.get('manifest.json')!.toString()) as { Config: string; RepoTags: string[] | null; Layers: string[] }[];
    assert.deepEqual(manifest.map((m) => m.RepoTags), [[`${n}/a:1`, `${n}/a:2`], null], 'tags as named; an image saved by ID has none');
    const aLayer = src.documents(a.id).manifest.layers[0]!.digest.slice(7);
    const layerBlob = `blobs/sha256/${aLayer}`;
    assert.equal(manifest[0]!.Config, `blobs/sha256/${a.id.slice(7)}`);
    assert.equal(manifest[0]!.Layers[0], layerBlob);
    for (const m of manifest) for (const f of [m.Config, ...m.Layers]) assert.ok(dm.has(f), `${f} is in the archive`);
    assert.deepEqual(JSON.parse(dm.get('repositories')!.toString()), { [`${n}/a`]: { '1': aLayer, '2': aLayer } });
    assert.ok(dm.has('oci-layout') && dm.has('index.json'), 'the docker archive is an OCI layout as well');
    const dIndex = JSON.parse(dm.get('index.json')!.toString()) as { manifests: { digest: string }[] };
    assert.deepEqual(dIndex.manifests.map((m) => m.digest), [a.manifestDigest, a.manifestDigest, b.manifestDigest]);
    const d1 = await ImageStore.open(join(dir, 'd1'));
    const loaded = await d1.load(streamOf(docker));
    assert.deepEqual(loaded.loaded, [`${n}/a:1`, `${n}/a:2`, b.id]);
    assert.equal(d1.resolve(`${n}/a:2`)?.id, a.id);
    assert.equal(d1.resolve(`${n}/a:2`)?.manifestDigest, a.manifestDigest, 'the manifest digest survives the docker format too');
    assert.equal(d1.resolve(b.id)?.id, b.id);
    assert.equal(readFileSync(join(d1.lowerDirs(a.id)[0]!, 'etc/a'), 'utf8'), 'A');
    // read as a plain docker-archive (manifest.json only, as older loaders do): the same image ID
    const plain = await makeTar([...dm].filter(([k]) => k !== 'index.json' && k !== 'oci-layout').map(([name, data]) => ({ name, data })));
    const d2 = await ImageStore.open(join(dir, 'd2'));
    assert.deepEqual((await d2.load(streamOf(plain))).loaded, [`${n}/a:1`, `${n}/a:2`, b.id]);
    assert.equal(d2.resolve(`${n}/a:1`)?.id, a.id);

    // OCI layout
    const oci = await collect(src.save([`${n}/a:1`, `${n}/b:1`], 'oci'));
    const om = await members(oci);
    const index = JSON.parse(om.get('index.json')!.toString()) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    assert.deepEqual(index.manifests.map((m) => m.annotations), [
      { 'io.containerd.image.name': `docker.io/${n}/a:1`, 'org.opencontainers.image.ref.name': '1' },
      { 'io.containerd.image.name': `docker.io/${n}/b:1`, 'org.opencontainers.image.ref.name': '1' },
    ]);
    assert.deepEqual(index.manifests.map((m) => m.digest), [a.manifestDigest, b.manifestDigest]);
    assert.ok(om.has(`blobs/sha256/${a.id.slice(7)}`) && om.has('oci-layout'));
    const o1 = await ImageStore.open(join(dir, 'o1'));
    assert.deepEqual((await o1.load(streamOf(oci))).loaded, [`${n}/a:1`, `${n}/b:1`]);
    assert.equal(o1.resolve(`${n}/a:1`)?.id, a.id);
    assert.equal(o1.resolve(`${n}/a:1`)?.manifestDigest, a.manifestDigest);
    assert.equal(o1.resolve(`${n}/b:1`)?.manifestDigest, b.manifestDigest);

    // Loading into the source store again changes nothing but the tags it names.
    await src.remove(`${n}/a:2`, { force: false, inUse: () => false });
    await src.load(streamOf(docker));
    assert.deepEqual(src.resolve(a.id)?.repoTags, [`${n}/a:1`, `${n}/a:2`]);
  });
});
