import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_REF, ImageStore, buildBusyboxLayout, ensureBusybox } from '../../../worker/engine/image/index.js';
import { requireRoot, requireTool, withTempDir } from './image-harness.js';

test('building busybox twice gives the same manifest digest, and ensureBusybox loads it once into the store', async () => {
  requireRoot('unpacking the base image with owners');
  requireTool('/bin/busybox');
  await withTempDir('bb', async (dir) => {
    const d1 = await buildBusyboxLayout(join(dir, 'one'));
    const d2 = await buildBusyboxLayout(join(dir, 'two'));
    assert.match(d1, /^sha256:[0-9a-f]{64}$/);
    assert.equal(d2, d1, 'same busybox, same digest');
    assert.deepEqual(readFileSync(join(dir, 'one', 'index.json')), readFileSync(join(dir, 'two', 'index.json')));

    const store = await ImageStore.open(join(dir, 'image'));
    const img = await ensureBusybox(store);
    assert.deepEqual(img.repoTags, [BUSYBOX_REF]);
    assert.equal(img.manifestDigest, d1, 'the store keeps the layout\'s manifest digest');
    assert.deepEqual(img.config.config?.Cmd, ['sh']);
    assert.ok(img.config.config?.Env?.some((e) => e.startsWith('PATH=')));
    const [rootfs] = store.lowerDirs(BUSYBOX_REF) as [string];
    assert.ok(statSync(join(rootfs, 'bin/busybox')).mode & 0o111);
    assert.equal(readlinkSync(join(rootfs, 'bin/sh')), 'busybox');
    assert.equal(statSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
    assert.match(readFileSync(join(rootfs, 'etc/passwd'), 'utf8'), /^root:x:0:0:.*\nnobody:x:65534:65534:/);
    assert.match(readFileSync(join(rootfs, 'etc/group'), 'utf8'), /^root:x:0:\nnobody:x:65534:/);
    for (const d of ['proc', 'sys', 'dev', 'root', 'var', 'home']) assert.ok(statSync(join(rootfs, d)).isDirectory(), d);

    // The image runs: an overlay of its layers with a fresh upper, chroot, the default Cmd's shell.
    const mnt = join(dir, 'mnt');
    for (const d of ['mnt', 'upper', 'work']) mkdirSync(join(dir, d));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${store.lowerDirs(BUSYBOX_REF).join(':')},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, mnt]);
    try {
      const out = execFileSync('chroot', [mnt, '/bin/sh', '-c', 'echo hi > /tmp/x && cat /tmp/x && id -un && ls /bin | wc -l'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      assert.match(out, /^hi\nroot\n\s*\d+\n$/);
      assert.ok(Number(out.trim().split('\n').pop()) > 200, 'the applet links are there');
    } finally {
      execFileSync('umount', [mnt]);
    }
    assert.equal(existsSync(join(rootfs, 'tmp', 'x')), false, 'the write went to the upper dir, not the layer');

    // Already there: nothing is rebuilt; concurrent callers share one build.
    const again = await Promise.all([ensureBusybox(store), ensureBusybox(store)]);
    assert.deepEqual(again.map((r) => r.id), [img.id, img.id]);
    const fresh = await ImageStore.open(join(dir, 'image2'));
    const both = await Promise.all([ensureBusybox(fresh), ensureBusybox(fresh)]);
    assert.equal(both[0].id, img.id);
    assert.equal(both[1].id, img.id);
    assert.equal(existsSync(join(dir, 'image2', 'tmp')) && fresh.list().length, 1);
  });
});

test('the build script refuses a non-empty output dir and a missing busybox with a clear message', async () => {
  await withTempDir('bbbad', async (dir) => {
    await assert.rejects(buildBusyboxLayout(join(dir, 'x'), { busybox: join(dir, 'nope') }), /is not an executable busybox/);
    await buildBusyboxLayout(join(dir, 'y'));
    await assert.rejects(buildBusyboxLayout(join(dir, 'y')), /exists and is not empty/);
  });
});
