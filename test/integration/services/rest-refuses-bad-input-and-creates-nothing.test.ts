import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

const ok = { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } };

test('bad service specs get 4xx naming the field, and nothing is created', async () => {
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    const cases: [unknown, number, RegExp][] = [
      [{ ...ok, Mode: { Replicated: { Replicas: -1 } } }, 400, /Mode\.Replicated\.Replicas: -1 must be non-negative/],
      [{ ...ok, Mode: { Sharded: {} } }, 400, /Mode: unknown mode "Sharded"/],
      [{ ...ok, Mode: { Replicated: {}, Global: {} } }, 400, /Mode: only one of/],
      [{ ...ok, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Placement: { Constraints: ['node.color=red'] } } }, 400, /Constraints\[0\]/],
      [{ ...ok, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Placement: { Constraints: ['node.flavour==x'] } } }, 400, /unknown key "node.flavour"/],
      [{ ...ok, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 70000 }] } }, 400, /EndpointSpec\.Ports\[0\]\.PublishedPort: 70000 must be at most 65535/],
      [{ ...ok, EndpointSpec: { Ports: [{ TargetPort: 0 }] } }, 400, /EndpointSpec\.Ports\[0\]\.TargetPort: 0 must be at least 1/],
      [{ ...ok, TaskTemplate: { ContainerSpec: {} } }, 400, /TaskTemplate\.ContainerSpec\.Image: an image is required/],
      [{ ...ok, Name: '-bad' }, 400, /Name: "-bad" is invalid/],
      [{ ...ok, UpdateConfig: { Order: 'random' } }, 400, /UpdateConfig\.Order: "random" is not stop-first or start-first/],
      [{ ...ok, UpdateConfig: { FailureAction: 'explode' } }, 400, /UpdateConfig\.FailureAction/],
    ];
    for (const [body, status, msg] of cases) {
      const r = await app.inject({ method: 'POST', url: '/v1.41/services/create', payload: body as object });
      assert.equal(r.statusCode, status, `${JSON.stringify(body)} → ${r.body}`);
      assert.match((r.json() as { message: string }).message, msg);
    }
    assert.equal(c.store.view((tx) => tx.count('services')), 0, 'no service was created');

    // duplicate name → 409; a taken ingress port → 400 naming the holder
    const a = await app.inject({ method: 'POST', url: '/services/create', payload: { ...ok, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } } });
    assert.equal(a.statusCode, 201);
    const dup = await app.inject({ method: 'POST', url: '/services/create', payload: ok });
    assert.equal(dup.statusCode, 409);
    assert.match(dup.json<{ message: string }>().message, /service web already exists/);
    const port = await app.inject({ method: 'POST', url: '/services/create', payload: { ...ok, Name: 'other', EndpointSpec: { Ports: [{ TargetPort: 81, PublishedPort: 8080 }] } } });
    assert.equal(port.statusCode, 400);
    assert.match(port.json<{ message: string }>().message, /port '8080' is already in use by service 'web'/);
    assert.equal(c.store.view((tx) => tx.count('services')), 1);

    // update: stale version → 409 out of sequence; missing version → 400; rename / mode change refused
    const id = a.json<{ ID: string }>().ID;
    const svc = (await app.inject({ method: 'GET', url: `/services/${id}` })).json<{ Version: { Index: number }; Spec: Record<string, unknown> }>();
    const stale = await app.inject({ method: 'POST', url: `/services/${id}/update?version=${svc.Version.Index - 1}`, payload: svc.Spec });
    assert.equal(stale.statusCode, 409);
    assert.match(stale.json<{ message: string }>().message, /update out of sequence/);
    const nover = await app.inject({ method: 'POST', url: `/services/${id}/update`, payload: svc.Spec });
    assert.equal(nover.statusCode, 400);
    assert.match(nover.json<{ message: string }>().message, /^version:/);
    const rename = await app.inject({ method: 'POST', url: `/services/${id}/update?version=${svc.Version.Index}`, payload: { ...svc.Spec, Name: 'renamed' } });
    assert.equal(rename.statusCode, 400);
    assert.match(rename.json<{ message: string }>().message, /Name: renaming services is not supported/);
    const mode = await app.inject({ method: 'POST', url: `/services/${id}/update?version=${svc.Version.Index}`, payload: { ...svc.Spec, Mode: { Global: {} } } });
    assert.equal(mode.statusCode, 400);
    const norb = await app.inject({ method: 'POST', url: `/services/${id}/update?version=${svc.Version.Index}&rollback=previous`, payload: svc.Spec });
    assert.equal(norb.statusCode, 400);
    assert.match(norb.json<{ message: string }>().message, /does not have a previous spec/);
    const after = (await app.inject({ method: 'GET', url: `/services/${id}` })).json<{ Version: { Index: number }; Spec: { Name: string } }>();
    assert.equal(after.Spec.Name, 'web');
    assert.ok(after.Version.Index >= svc.Version.Index);

    // unknown filter, unknown service
    assert.equal((await app.inject({ method: 'GET', url: '/tasks?filters={"color":{"red":true}}' })).statusCode, 400);
    assert.equal((await app.inject({ method: 'GET', url: '/services/nosuch' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'DELETE', url: '/services/nosuch' })).statusCode, 404);
  } finally {
    await app.close();
    await c.stop();
  }
});

test('defaults: Replicated without Replicas is 1, EndpointSpec vip, insertDefaults spells out update/rollback/restart', async () => {
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    const r = await app.inject({ method: 'POST', url: '/services/create', payload: { ...ok, Mode: { Replicated: {} }, EndpointSpec: {} } });
    assert.equal(r.statusCode, 201);
    const id = r.json<{ ID: string }>().ID;
    const plain = (await app.inject({ method: 'GET', url: `/services/${id}?insertDefaults=false` })).json<{ Spec: { Mode: unknown; EndpointSpec: unknown; UpdateConfig?: unknown } }>();
    assert.deepEqual(plain.Spec.Mode, { Replicated: { Replicas: 1 } });
    assert.deepEqual(plain.Spec.EndpointSpec, { Mode: 'vip' });
    assert.equal(plain.Spec.UpdateConfig, undefined);
    const full = (await app.inject({ method: 'GET', url: `/services/${id}?insertDefaults=true` })).json<{ Spec: { UpdateConfig: unknown; RollbackConfig: unknown; TaskTemplate: { RestartPolicy: unknown } } }>();
    assert.deepEqual(full.Spec.UpdateConfig, { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5e9, MaxFailureRatio: 0, Order: 'stop-first' });
    assert.deepEqual(full.Spec.RollbackConfig, full.Spec.UpdateConfig);
    assert.deepEqual(full.Spec.TaskTemplate.RestartPolicy, { Condition: 'any', Delay: 5e9, MaxAttempts: 0 });
  } finally {
    await app.close();
    await c.stop();
  }
});
