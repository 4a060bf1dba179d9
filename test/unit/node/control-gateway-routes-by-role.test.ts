// The engine API's door to the control API decides by this node's role: a node in no swarm or a worker
// answers Docker's 503 (while engine routes and /distribution stay its own), a leader serves the
// request from its control app (versioned paths too, bodies intact), a follower forwards it and
// passes the leader's answer through, except log streams, which it serves itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { controlGateway, isControlPath, isLogPath, type ControlTarget } from '../../../manager/controlapi/control-gateway.js';
import type { ForwardRequest } from '../../../manager/node/control-forward.js';
import { NOT_A_MANAGER_INACTIVE, NOT_A_MANAGER_WORKER } from '../../../manager/node/swarm-node.js';
import { buildApi } from '../../../worker/engine/api/server.js';
import { fakeDeps } from '../api/fake-engine.js';

test('control paths are the swarm, node, service, task, secret, config and distribution endpoints — not init/join/leave', () => {
  for (const p of ['/swarm', '/swarm/update', '/swarm/unlockkey', '/nodes', '/nodes/x/update', '/services/create', '/tasks/t', '/secrets', '/configs/c', '/distribution/busybox/json']) {
    assert.ok(isControlPath(p), p);
  }
  for (const p of ['/swarm/init', '/swarm/join', '/swarm/leave', '/swarm/unlock', '/containers/json', '/info', '/nodesx', '/servicesfoo']) assert.ok(!isControlPath(p), p);
  assert.ok(isLogPath('/services/web/logs') && isLogPath('/tasks/abc/logs') && !isLogPath('/services/web'));
});

test('the gateway refuses, serves locally, or forwards according to the role', async () => {
  const control = Fastify();
  control.get('/nodes', async () => [{ ID: 'n1' }]);
  control.post('/nodes/:id/update', async (req) => ({ id: (req.params as { id: string }).id, body: req.body, q: req.query }));
  control.get('/services/:id/logs', async () => 'local log line\n');
  await control.ready();
  let target: ControlTarget = { kind: 'refuse', status: 503, message: NOT_A_MANAGER_INACTIVE };
  const forwarded: ForwardRequest[] = [];
  const app = buildApi(fakeDeps(), { plugins: [controlGateway({ target: () => target })] });
  try {
    let r = await app.inject({ method: 'GET', url: '/v1.41/nodes' });
    assert.equal(r.statusCode, 503);
    assert.equal(r.json<{ message: string }>().message, NOT_A_MANAGER_INACTIVE);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal((await app.inject({ method: 'GET', url: '/_ping' })).body, 'OK', 'engine routes stay');
    target = { kind: 'refuse', status: 503, message: NOT_A_MANAGER_WORKER };
    r = await app.inject({ method: 'POST', url: '/services/create', payload: { Name: 'x' } });
    assert.equal(r.json<{ message: string }>().message, NOT_A_MANAGER_WORKER);

    target = { kind: 'local', app: control };
    r = await app.inject({ method: 'POST', url: '/v1.45/nodes/n1/update?version=4', payload: { Role: 'worker' } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { id: 'n1', body: { Role: 'worker' }, q: { version: '4' } });

    target = {
      kind: 'forward',
      localApp: control,
      forward: async (req) => {
        forwarded.push(req);
        return { status: 409, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'rpc error: code = Unknown desc = update out of sequence' }) };
      },
    };
    r = await app.inject({ method: 'POST', url: '/v1.45/nodes/n1/update?version=3', payload: { Role: 'manager' } });
    assert.equal(r.statusCode, 409);
    assert.match(r.json<{ message: string }>().message, /update out of sequence/);
    assert.deepEqual(forwarded, [{ method: 'POST', url: '/nodes/n1/update?version=3', contentType: 'application/json', body: '{"Role":"manager"}' }]);
    r = await app.inject({ method: 'GET', url: '/services/web/logs?stdout=1' });
    assert.equal(r.body, 'local log line\n', 'log streams are served by the follower itself');
    assert.equal(forwarded.length, 1);

    target = { kind: 'forward', forward: async () => { throw new Error('no leader'); } };
    r = await app.inject({ method: 'GET', url: '/nodes' });
    assert.equal(r.statusCode, 503);
    assert.equal(r.json<{ message: string }>().message, 'no leader');
  } finally {
    await app.close();
    await control.close();
  }
});
