import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyPluginAsync } from 'fastify';
import { buildApi } from '../../../worker/engine/api/server.js';
import type { SwarmInfo } from '../../../worker/engine/api/ports.js';
import { fakeDeps } from './fake-engine.js';

test('plugins given to buildApi answer their own routes, with and without a /vX.Y prefix, next to the engine routes', async () => {
  const seen: string[] = [];
  const swarmRoutes: FastifyPluginAsync = async (app) => {
    app.get('/swarm', async () => ({ ID: 'cluster-1' }));
    app.post('/nodes/:id/update', async (req) => {
      seen.push((req.params as { id: string }).id);
      return {};
    });
  };
  const app = buildApi(fakeDeps(), { plugins: [swarmRoutes] });
  try {
    const a = await app.inject({ method: 'GET', url: '/v1.45/swarm' });
    assert.equal(a.statusCode, 200);
    assert.deepEqual(a.json(), { ID: 'cluster-1' });
    const b = await app.inject({ method: 'POST', url: '/nodes/n1/update' });
    assert.equal(b.statusCode, 200);
    assert.deepEqual(seen, ['n1']);
    // the engine's routes are still there, and unknown paths still get Docker's JSON 404
    assert.equal((await app.inject({ method: 'GET', url: '/_ping' })).body, 'OK');
    const missing = await app.inject({ method: 'GET', url: '/services/x/nothing' });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json<{ message: string }>().message, /page not found/);
  } finally {
    await app.close();
  }
});

test('GET /info takes its Swarm section from the provider, and /_ping reports active/manager or active/worker', async () => {
  let state: SwarmInfo = { NodeID: 'node-a', NodeAddr: '127.0.0.1', LocalNodeState: 'active', ControlAvailable: true, Error: '', RemoteManagers: [{ NodeID: 'node-a', Addr: '127.0.0.1:2377' }], Nodes: 3, Managers: 1, Cluster: { ID: 'c1' } };
  const app = buildApi(fakeDeps({ swarm: { swarmInfo: async () => state } }));
  try {
    const info = (await app.inject({ method: 'GET', url: '/v1.45/info' })).json<Record<string, unknown>>();
    assert.deepEqual(info['Swarm'], state);
    assert.equal((await app.inject({ method: 'GET', url: '/_ping' })).headers['swarm'], 'active/manager');
    state = { ...state, ControlAvailable: false, RemoteManagers: null };
    assert.equal((await app.inject({ method: 'HEAD', url: '/_ping' })).headers['swarm'], 'active/worker');
    state = { ...state, LocalNodeState: 'locked' };
    assert.equal((await app.inject({ method: 'GET', url: '/_ping' })).headers['swarm'], 'locked');
  } finally {
    await app.close();
  }
});

test('without a provider GET /info shows Docker\'s inactive Swarm section and /_ping says inactive', async () => {
  const app = buildApi(fakeDeps());
  try {
    const info = (await app.inject({ method: 'GET', url: '/info' })).json<Record<string, unknown>>();
    assert.deepEqual(info['Swarm'], { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
    assert.equal((await app.inject({ method: 'GET', url: '/_ping' })).headers['swarm'], 'inactive');
  } finally {
    await app.close();
  }
});
