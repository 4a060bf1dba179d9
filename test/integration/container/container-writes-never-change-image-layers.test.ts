import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFixture, runToExit, makeBusyboxLayer, type Fixture } from './engine-fixture.js';
import { mountSnapshot, prepareSnapshot, removeSnapshot, snapshotPaths, isMountPoint } from '../../../worker/engine/snapshot/overlay-snapshot.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${p}|${st.mode}|${st.size}|${st.mtimeMs}\n`);
      if (st.isFile()) h.update(readFileSync(p));
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return h.digest('hex');
}

test('writes, deletes and chmods inside a container leave the image layer unchanged', async () => {
  const before = treeDigest(f.layer);
  const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'echo x >> /etc/passwd && rm /bin/vi && chmod 700 /bin && mkdir -p /data/a && echo y > /data/a/f && rm -rf /home/app && cat /data/a/f'] });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'y\n');
  assert.equal(treeDigest(f.layer), before);
  // a second container from the same image sees the pristine layer
  const r2 = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'ls /bin/vi && test ! -e /data && tail -1 /etc/passwd'] });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /^\/bin\/vi\napp:x:1000/);
  await f.mgr.remove(r.id);
  await f.mgr.remove(r2.id);
});

test('300 lower dirs mount (option string would exceed one page with absolute paths), top layer wins', async () => {
  const base = mkdtempSync('/tmp/shoal-layers-');
  try {
    const layers: string[] = [];
    for (let i = 0; i < 300; i++) {
      const d = join(base, 'layers', `layer-with-a-rather-long-directory-name-${String(i).padStart(4, '0')}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}`), String(i));
      writeFileSync(join(d, 'top'), String(i));
      layers.unshift(d); // top first
    }
    assert.ok(layers.join(':').length > 4096);
    const snap = join(base, 'snap');
    await prepareSnapshot(snap, layers);
    await mountSnapshot(snap);
    const p = snapshotPaths(snap);
    assert.equal(await isMountPoint(p.rootfs), true);
    assert.equal(readFileSync(join(p.rootfs, 'top'), 'utf8'), '299');
    assert.equal(readFileSync(join(p.rootfs, 'f0'), 'utf8'), '0');
    await removeSnapshot(snap);
    assert.equal(await isMountPoint(p.rootfs), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a busybox image of 2 layers: the upper layer overrides the lower', async () => {
  const base = mkdtempSync('/tmp/shoal-2l-');
  const g = await openFixture({ layers: [join(base, 'top'), join(base, 'bottom')] });
  try {
    makeBusyboxLayer(join(base, 'bottom'));
    mkdirSync(join(base, 'top', 'etc'), { recursive: true });
    writeFileSync(join(base, 'top', 'etc', 'motd'), 'from-top\n');
    const r = await runToExit(g.mgr, { Image: 'busybox', Cmd: ['cat', '/etc/motd'] });
    assert.equal(r.stdout, 'from-top\n');
  } finally {
    await g.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});
