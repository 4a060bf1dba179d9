import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImageStore, ensureBusybox } from '../../../worker/engine/image/index.js';
import { ContainerManager } from '../../../worker/engine/container/container-manager.js';
import { VolumeStore } from '../../../worker/engine/volume/volume-store.js';
import { removeCgroup } from '../../../worker/engine/runtime/cgroups.js';
import { NoneNetworking, makeBusyboxLayer, runToExit, uniquePrefix } from './engine-fixture.js';

test('with the real ImageStore: busybox:latest and an imported rootfs with CMD, WORKDIR and ENV changes run', async () => {
  const base = mkdtempSync('/tmp/shoal-ctimg-');
  const prefix = uniquePrefix();
  let mgr: ContainerManager | undefined;
  try {
    const images = await ImageStore.open(join(base, 'data', 'image'));
    const bb = await ensureBusybox(images);
    mgr = await ContainerManager.open({ dataRoot: join(base, 'data'), execRoot: join(base, 'exec'), prefix, images, networks: new NoneNetworking(prefix), volumes: await VolumeStore.open(join(base, 'data', 'volumes')) });
    const r = await runToExit(mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'echo hi > /etc/motd; cat /etc/motd; id -u'] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n0\n');
    assert.equal((mgr.inspect(r.id) as { Image: string }).Image, bb.id);
    assert.equal(mgr.usesImage(bb.id), true);
    await mgr.remove(r.id);

    // an imported rootfs with its own CMD, WORKDIR and ENV
    const root = join(base, 'rootfs');
    makeBusyboxLayer(root);
    const tar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 << 20 });
    const imp = await images.importRootfs(Readable.from([tar]), { ref: `imp${prefix}:v1`, changes: ['CMD ["sh","-c","pwd; echo $GREETING"]', 'WORKDIR /srv', 'ENV GREETING=hello'] });
    const r2 = await runToExit(mgr, { Image: `imp${prefix}:v1` });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, '/srv\nhello\n');
    assert.equal((mgr.inspect(r2.id) as { Image: string }).Image, imp.id);
    await mgr.remove(r2.id);
  } finally {
    if (mgr) {
      for (const c of mgr.store.all()) await mgr.remove(c.id, { force: true }).catch(() => undefined);
      mgr.close();
    }
    await removeCgroup('/', `shoal-${prefix}`); // the manager leaves its parent cgroup (an engine removes it on destroy)
    rmSync(base, { recursive: true, force: true });
  }
});
