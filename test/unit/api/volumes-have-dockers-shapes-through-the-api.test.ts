import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildApi } from '../../../worker/engine/api/server.js';
import { VolumeStore } from '../../../worker/engine/volume/volume-store.js';
import { fakeDeps } from './fake-engine.js';

test('volume create/list/inspect/remove/prune answer in Docker shapes and status codes, with events', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-api-vol-'));
  const volumes = await VolumeStore.open(dir);
  const deps = fakeDeps({ volumes });
  const app = buildApi(deps);
  try {
    const c = await app.inject({ method: 'POST', url: '/v1.41/volumes/create', payload: { Name: 'v1', Driver: 'local', Labels: { team: 'a' } } });
    assert.equal(c.statusCode, 201);
    const rec = c.json<{ Name: string; Mountpoint: string; Driver: string }>();
    assert.equal(rec.Name, 'v1');
    assert.equal(rec.Mountpoint, join(dir, 'v1', '_data'));
    await app.inject({ method: 'POST', url: '/volumes/create?Name=v2', payload: { Name: 'v2' } });

    const list = await app.inject({ method: 'GET', url: '/v1.41/volumes' });
    const body = list.json<{ Volumes: { Name: string }[]; Warnings: unknown[] }>();
    assert.deepEqual(body.Volumes.map((v) => v.Name).sort(), ['v1', 'v2']);
    assert.deepEqual(body.Warnings, []);
    const filtered = await app.inject({ method: 'GET', url: `/volumes?filters=${encodeURIComponent('{"label":{"team=a":true}}')}` });
    assert.deepEqual(filtered.json<{ Volumes: { Name: string }[] }>().Volumes.map((v) => v.Name), ['v1']);

    const missing = await app.inject({ method: 'GET', url: '/volumes/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['content-type'], 'application/json');
    assert.match(missing.json<{ message: string }>().message, /nope/);

    volumes.setUsageProvider((name) => (name === 'v1' ? ['c'.repeat(64)] : []));
    const busy = await app.inject({ method: 'DELETE', url: '/volumes/v1' });
    assert.equal(busy.statusCode, 409);
    volumes.setUsageProvider(() => []);
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1.41/volumes/v1' })).statusCode, 204);

    const pruned = await app.inject({ method: 'POST', url: `/volumes/prune?filters=${encodeURIComponent('{"all":["true"]}')}` });
    assert.deepEqual(pruned.json<{ VolumesDeleted: string[] }>().VolumesDeleted, ['v2']);
    const actions = deps.events.replay({}).map((e) => `${e.Type} ${e.Action} ${e.Actor.ID}`);
    assert.deepEqual(actions, ['volume create v1', 'volume create v2', 'volume destroy v1', 'volume destroy v2']);
  } finally {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
});
