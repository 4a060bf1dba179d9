import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '../../../worker/engine/image/index.js';
import { collect, makeTar, requireRoot, streamOf, withTempDir } from './image-harness.js';

/** Builds a two-layer docker-archive by hand (configs and layer tars), the way `docker save` lays it out. */
async function twoLayerArchive(lower: Buffer, upper: Buffer): Promise<Buffer> {
  const { createHash } = await import('node:crypto');
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${sha(lower)}`, `sha256:${sha(upper)}`] } }));
  return makeTar([
    { name: `${sha(config)}.json`, data: config },
    { name: `${sha(lower)}/layer.tar`, data: lower },
    { name: `${sha(upper)}/layer.tar`, data: upper },
    { name: 'manifest.json', data: JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: [`wh-${process.pid}:v1`], Layers: [`${sha(lower)}/layer.tar`, `${sha(upper)}/layer.tar`] }]) },
  ]);
}

test('OCI whiteouts become overlay whiteouts: a mounted overlay of the layers hides deleted files and the contents of opaque dirs', async () => {
  requireRoot('unpacking whiteouts and mounting overlayfs');
  await withTempDir('wh', async (dir) => {
    const lower = await makeTar([
      { name: 'data/', type: 'directory' },
      { name: 'data/a.txt', data: 'a' },
      { name: 'data/keep.txt', data: 'keep' },
      { name: 'etc/', type: 'directory' },
      { name: 'etc/conf.d/', type: 'directory' },
      { name: 'etc/conf.d/x.conf', data: 'x' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/tool', data: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1001, mtime: new Date('2020-02-02T00:00:00Z') },
      { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'xattr.txt', data: 'x', pax: { 'SCHILY.xattr.user.shoal': 'yes' } },
    ]);
    const upper = await makeTar([
      { name: 'data/', type: 'directory' },
      { name: 'data/.wh.a.txt' },
      { name: 'data/new.txt', data: 'new' },
      { name: 'etc/conf.d/', type: 'directory' },
      { name: 'etc/conf.d/.wh..wh..opq' },
      { name: 'etc/conf.d/y.conf', data: 'y' },
    ]);
    const store = await ImageStore.open(join(dir, 'image'));
    const { loaded } = await store.load(streamOf(await twoLayerArchive(lower, upper)));
    assert.deepEqual(loaded, [`wh-${process.pid}:v1`]);
    const lowers = store.lowerDirs(loaded[0]!);
    assert.equal(lowers.length, 2);
    const [top, bottom] = lowers as [string, string];
    assert.ok(top.endsWith('/diff') && bottom.endsWith('/diff'));

    // The lower layer keeps modes, owners, mtimes, links, devices and xattrs.
    const tool = statSync(join(bottom, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755, 'setuid mode survives the chown');
    assert.equal(tool.uid, 1000);
    assert.equal(tool.gid, 1001);
    assert.equal(tool.mtime.toISOString(), '2020-02-02T00:00:00.000Z');
    assert.equal(readlinkSync(join(bottom, 'bin/alias')), 'tool');
    assert.equal(statSync(join(bottom, 'bin/hard')).ino, tool.ino, 'hardlink shares the inode');
    const dn = lstatSync(join(bottom, 'dev/null'));
    assert.ok(dn.isCharacterDevice());
    assert.equal(dn.rdev, (1 << 8) | 3);
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'user.shoal', join(bottom, 'xattr.txt')]).toString(), 'yes');

    // The upper layer holds overlay-native whiteouts.
    const wh = lstatSync(join(top, 'data/a.txt'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, '.wh.a.txt became a 0/0 char device');
    assert.equal(existsSync(join(top, 'data/.wh.a.txt')), false);
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(top, 'etc/conf.d')]).toString(), 'y');

    const mnt = join(dir, 'mnt');
    const work = join(dir, 'work');
    const up = join(dir, 'upper');
    for (const d of [mnt, work, up]) mkdirSync(d);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.join(':')},upperdir=${up},workdir=${work}`, mnt]);
    try {
      assert.deepEqual(readdirSync(join(mnt, 'data')).sort(), ['keep.txt', 'new.txt'], 'whiteout hides the lower a.txt');
      assert.deepEqual(readdirSync(join(mnt, 'etc/conf.d')), ['y.conf'], 'opaque dir hides the lower x.conf');
      assert.equal(readFileSync(join(mnt, 'data/keep.txt'), 'utf8'), 'keep');
    } finally {
      execFileSync('umount', [mnt]);
    }

    // Layer blobs are exported byte for byte, so loading the export elsewhere gives the same image ID.
    const again = await collect(store.save([loaded[0]!], 'docker'));
    const dir2 = join(dir, 'image2');
    const store2 = await ImageStore.open(dir2);
    await store2.load(streamOf(again));
    assert.equal(store2.resolve(loaded[0]!)?.id, store.resolve(loaded[0]!)?.id);
  });
});
