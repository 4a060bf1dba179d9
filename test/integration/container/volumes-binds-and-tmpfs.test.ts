import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openFixture, runToExit, leftovers, type Fixture } from './engine-fixture.js';
import { EngineError } from '../../../worker/engine/container/errors.js';
import { VolumeError } from '../../../worker/engine/volume/volume-store.js';

let f: Fixture;
let hostDir: string;
before(async () => {
  f = await openFixture();
  hostDir = mkdtempSync('/tmp/shoal-bind-');
  writeFileSync(join(hostDir, 'in.txt'), 'from-host\n');
});
after(async () => {
  await f?.cleanup();
  rmSync(hostDir, { recursive: true, force: true });
});

test('data a container writes into a named volume is read by a second container; the volume outlives both', async () => {
  const name = `vol${process.pid}`;
  const w = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'echo persisted > /data/file'], HostConfig: { NetworkMode: 'none', Binds: [`${name}:/data`] } });
  assert.equal(w.code, 0, w.stderr);
  assert.ok(f.volumes.get(name), 'the named volume is created on first use');
  const rd = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['cat', '/data/file'], HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: name, Target: '/data' }] } });
  assert.equal(rd.stdout, 'persisted\n');
  await assert.rejects(f.volumes.remove(name, { force: true }), (e: unknown) => e instanceof VolumeError && e.status === 409);
  await f.mgr.remove(w.id, { v: true });
  await f.mgr.remove(rd.id, { v: true });
  assert.equal(readFileSync(join(f.volumes.inspect(name).Mountpoint, 'file'), 'utf8'), 'persisted\n');
  await f.volumes.remove(name);
});

test('a read-only bind refuses writes; a read-write bind writes through to the host', async () => {
  const ro = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'cat /in/in.txt; echo x > /in/new'], HostConfig: { NetworkMode: 'none', Binds: [`${hostDir}:/in:ro`] } });
  assert.equal(ro.stdout, 'from-host\n');
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(existsSync(join(hostDir, 'new')), false);
  const rw = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'echo out > /in/out.txt'], HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'bind', Source: hostDir, Target: '/in' }] } });
  assert.equal(rw.code, 0, rw.stderr);
  assert.equal(readFileSync(join(hostDir, 'out.txt'), 'utf8'), 'out\n');
  await f.mgr.remove(ro.id);
  await f.mgr.remove(rw.id);
});

test('tmpfs mounts and anonymous volumes from the image VOLUME list; remove -v deletes the anonymous one', async () => {
  const r = await runToExit(f.mgr, { Image: 'busybox', Volumes: { '/anon': {} }, Cmd: ['sh', '-c', 'grep " /scratch " /proc/mounts | cut -d" " -f3; echo a > /anon/x'], HostConfig: { NetworkMode: 'none', Tmpfs: { '/scratch': 'size=1m' } } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'tmpfs\n');
  const j = f.mgr.inspect(r.id) as { Mounts: { Type: string; Name?: string; Destination: string }[] };
  const anon = j.Mounts.find((m) => m.Destination === '/anon');
  assert.equal(anon?.Type, 'volume');
  assert.ok(anon?.Name && f.volumes.get(anon.Name));
  await f.mgr.remove(r.id, { v: true });
  assert.equal(f.volumes.get(anon.Name), undefined);
});

test('a missing bind source is a 400 and leaves nothing behind', async () => {
  const before = f.mgr.store.all().length;
  await assert.rejects(
    f.mgr.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', Binds: [`/nonexistent-${process.pid}:/x`] } }, `badbind${process.pid}`),
    (e: unknown) => e instanceof EngineError && e.status === 400 && /does not exist/.test(e.message),
  );
  assert.equal(f.mgr.store.all().length, before);
  assert.deepEqual(await f.mgr.store.orphanDirs(), []);
  // the name is free again
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, `badbind${process.pid}`);
  await f.mgr.remove(Id);
  assert.deepEqual(await leftovers(f, Id), []);
});
