/**
 * serviceRoutes as shoald mounts it: a plugin of the engine's buildApi (its JSON parser, error handler,
 * version-prefix rewriting), next to the engine's own routes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApi } from '../../../worker/engine/api/server.js';
import { serviceRoutes } from '../../../manager/controlapi/service-routes.js';
import { fakeDeps } from '../../unit/api/fake-engine.js';
import { SimCluster } from './sim-cluster.js';

test('serviceRoutes mounted through buildApi({ plugins }) answers with and without the version prefix', async () => {
  const c = new SimCluster();
  await c.start();
  const app = buildApi(fakeDeps(), { plugins: [serviceRoutes({ store: c.store })] });
  try {
    await c.addNode('x1');
    const r = await app.inject({ method: 'POST', url: '/v1.45/services/create', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ Name: 'mounted', TaskTemplate: { ContainerSpec: { Image: 'a' } } }) });
    assert.equal(r.statusCode, 201, r.body);
    const id = r.json<{ ID: string }>().ID;
    await c.until('running', () => c.running(id).length === 1);
    const list = await app.inject({ method: 'GET', url: '/services?status=1' });
    assert.deepEqual(list.json<{ ServiceStatus: unknown }[]>().map((s) => s.ServiceStatus), [{ RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0 }]);
    const bad = await app.inject({ method: 'POST', url: '/v1.41/services/create', headers: { 'content-type': 'application/json' }, payload: '{"Name":' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ message: string }>().message, /invalid JSON/);
    assert.equal(bad.headers['content-type'], 'application/json');
    const tasks = await app.inject({ method: 'GET', url: `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { mounted: true } }))}` });
    assert.equal(tasks.json<unknown[]>().length, 1);
  } finally {
    await app.close();
    await c.stop();
  }
});
