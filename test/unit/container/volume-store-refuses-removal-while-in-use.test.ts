import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeStore, VolumeError } from '../../../worker/engine/volume/volume-store.js';

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), `shoal-vol-${process.pid}-`));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('create is idempotent, inspect has Docker fields, data and labels survive a reopen', async () => {
  await withRoot(async (root) => {
    const s = await VolumeStore.open(root);
    const a = await s.create({ Name: 'data1', Labels: { team: 'x' } });
    const b = await s.create({ Name: 'data1', Labels: { other: 'y' } });
    assert.deepEqual(b, a);
    assert.equal(a.Driver, 'local');
    assert.equal(a.Scope, 'local');
    assert.equal(a.Mountpoint, join(root, 'data1', '_data'));
    await writeFile(join(a.Mountpoint, 'f'), 'kept');
    const s2 = await VolumeStore.open(root);
    assert.deepEqual(s2.inspect('data1').Labels, { team: 'x' });
    assert.equal(await readFile(join(s2.inspect('data1').Mountpoint, 'f'), 'utf8'), 'kept');
  });
});

test('bad names and unknown drivers are 400, unknown volumes 404', async () => {
  await withRoot(async (root) => {
    const s = await VolumeStore.open(root);
    await assert.rejects(s.create({ Name: 'a/b' }), (e: unknown) => e instanceof VolumeError && e.status === 400);
    await assert.rejects(s.create({ Name: 'ok1', Driver: 'nfs' }), (e: unknown) => e instanceof VolumeError && e.status === 400);
    assert.throws(() => s.inspect('nope'), (e: unknown) => e instanceof VolumeError && e.status === 404);
  });
});

test('remove is refused while a container uses the volume, even with force; prune skips it', async () => {
  await withRoot(async (root) => {
    const s = await VolumeStore.open(root);
    const users = new Map<string, string[]>([['busy', ['c1']]]);
    s.setUsageProvider((n) => users.get(n) ?? []);
    await s.create({ Name: 'busy' });
    await s.create({ Name: 'idle', Labels: { k: 'v' } });
    const anon = await s.create({}, { anonymous: true });
    await assert.rejects(s.remove('busy', { force: true }), (e: unknown) => e instanceof VolumeError && e.status === 409);
    assert.deepEqual(s.list({ dangling: ['true'] }).map((v) => v.Name).sort(), [anon.Name, 'idle'].sort());
    assert.deepEqual(s.list({ label: ['k=v'] }).map((v) => v.Name), ['idle']);
    assert.deepEqual((await s.prune()).VolumesDeleted, [anon.Name]);
    assert.deepEqual((await s.prune({ all: true })).VolumesDeleted, ['idle']);
    users.clear();
    await s.remove('busy');
    assert.equal(s.list().length, 0);
  });
});
