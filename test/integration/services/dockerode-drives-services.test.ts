/**
 * dockerode (unversioned paths, array-style filters, `version` copied into the update body and query)
 * against serviceRoutes on a unix socket with simulated nodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

test('dockerode createService, listServices/listTasks with array filters, update with version, remove', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-svc-dockerode-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    await c.addNode('dn1');
    await app.listen({ path: sock });
    const docker = new Docker({ socketPath: sock });
    const service = await docker.createService({
      Name: 'dode',
      Labels: { tier: 'web' },
      TaskTemplate: { ContainerSpec: { Image: 'app:1' } },
      Mode: { Replicated: { Replicas: 2 } },
    });
    const created = { ID: service.id as string };
    assert.match(created.ID, /^[0-9a-z]{25}$/);
    await c.until('2 running', () => c.running(created.ID).length === 2);

    const byLabel = await docker.listServices({ filters: { label: ['tier=web'] } });
    assert.deepEqual(byLabel.map((s) => s.ID), [created.ID]);
    assert.equal((await docker.listServices({ filters: { label: ['tier=db'] } })).length, 0);
    const tasks = await docker.listTasks({ filters: { service: ['dode'], 'desired-state': ['running'] } });
    assert.equal(tasks.length, 2);

    const svc = docker.getService(created.ID);
    const info = await svc.inspect();
    await svc.update({ version: info.Version.Index, ...info.Spec, Mode: { Replicated: { Replicas: 3 } } });
    await c.until('3 running', () => c.running(created.ID).length === 3);
    const stale = await svc.update({ version: info.Version.Index, ...info.Spec }).then(
      () => undefined,
      (e: { statusCode?: number; json?: { message?: string } }) => e,
    );
    assert.equal(stale?.statusCode, 409);
    assert.match(stale?.json?.message ?? '', /update out of sequence/);

    const one = await docker.getTask(tasks[0]!.ID!).inspect();
    assert.equal(one.ServiceID, created.ID);
    await svc.remove();
    await c.until('no tasks', () => c.tasks().length === 0);
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
