// Swarm networks on the engine API as dockerd serves them: a manager creates overlay networks in the
// swarm store (checked: names, duplicates 409, IPAM, overlap 403, --opt encrypted refused for lack of
// ESP), lists them beside its local networks, inspects either kind, refuses to remove one a service
// uses (SwarmKit's message), prunes unused ones (never ingress); a worker refuses overlay creation with
// Docker's message, lists only its local networks and leaves its swarm-network instances to the agent;
// a follower forwards swarm network requests to the leader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildControlApp } from '../../../manager/controlapi/control-app.js';
import type { ControlTarget } from '../../../manager/controlapi/control-gateway.js';
import { networkGateway, WORKER_OVERLAY_CREATE } from '../../../manager/controlapi/network-gateway.js';
import { injectControl, type ForwardRequest } from '../../../manager/node/control-forward.js';
import { NOT_A_MANAGER_INACTIVE, NOT_A_MANAGER_WORKER } from '../../../manager/node/swarm-node.js';
import { createStandaloneStore, type Service } from '../../../manager/store/index.js';
import { buildApi } from '../../../worker/engine/api/server.js';
import type { NetworkPort } from '../../../worker/engine/api/ports.js';
import { fakeDeps } from '../api/fake-engine.js';

interface Net {
  Name: string;
  Id: string;
  Scope: string;
  Driver: string;
  Labels: Record<string, string>;
  Containers: Record<string, unknown>;
}

function fakeNetworks(): NetworkPort & { nets: Net[] } {
  const nets: Net[] = ['bridge', 'host', 'none'].map((n, i) => ({ Name: n, Id: `${i}`.repeat(64), Scope: 'local', Driver: n === 'none' ? 'null' : n, Labels: {}, Containers: {} }));
  const find = (ref: string): Net => {
    const n = nets.find((x) => x.Id === ref || x.Name === ref || x.Id.startsWith(ref));
    if (!n) throw Object.assign(new Error(`network ${ref} not found`), { status: 404 });
    return n;
  };
  return {
    nets,
    async create(body) {
      const b = body as { Name: string };
      const n: Net = { Name: b.Name, Id: `${nets.length}`.repeat(64).slice(0, 64), Scope: 'local', Driver: 'bridge', Labels: {}, Containers: {} };
      nets.push(n);
      return n;
    },
    list: () => nets.map((n) => ({ ...n })),
    inspect: (ref) => find(ref),
    async remove(ref) {
      nets.splice(nets.indexOf(find(ref)), 1);
    },
    async prune() {
      return { NetworksDeleted: [] };
    },
  } as NetworkPort & { nets: Net[] };
}

test('a manager creates, lists, inspects and removes swarm networks beside its local ones; a worker refuses; a follower forwards', async () => {
  let t = 0;
  const store = createStandaloneStore({ now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString() });
  const control = await buildControlApp({ store, voters: () => [] });
  const local = fakeNetworks();
  let target: ControlTarget = { kind: 'local', app: control };
  const app = buildApi(fakeDeps({ networks: local }), { plugins: [networkGateway({ target: () => target })] });
  const msg = (r: { json: <T>() => T }): string => r.json<{ message: string }>().message;
  try {
    // create: the docker CLI's body
    const body = { Driver: 'overlay', Scope: '', IPAM: { Driver: 'default', Options: {}, Config: [] }, Internal: false, Attachable: true, Ingress: false, ConfigOnly: false, ConfigFrom: null, Options: {}, Labels: { a: 'b' }, Name: 'app', CheckDuplicate: true };
    let r = await app.inject({ method: 'POST', url: '/v1.41/networks/create', payload: body });
    assert.equal(r.statusCode, 201, r.body);
    const appId = r.json<{ Id: string }>().Id;
    assert.match(appId, /^[a-z0-9]{25}$/);
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: body });
    assert.equal(r.statusCode, 409);
    assert.equal(msg(r), 'network with name app already exists');
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'secure', Options: { encrypted: '' } } });
    assert.equal(r.statusCode, 400);
    assert.match(msg(r), /encrypted.*ESP/);
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'n2', IPAM: { Config: [{ Subnet: '10.10.0.0/24', Gateway: '10.11.0.1' }] } } });
    assert.equal(r.statusCode, 400);
    assert.match(msg(r), /IPAM\.Config\[0\]\.Gateway: subnet 10\.10\.0\.0\/24 does not contain gateway 10\.11\.0\.1/);
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'n2', IPAM: { Config: [{ Subnet: '10.10.0/24' }] } } });
    assert.equal(r.statusCode, 400);
    assert.match(msg(r), /IPAM\.Config\[0\]\.Subnet: invalid IPv4 subnet/);
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'n2', IPAM: { Config: [{ Subnet: '10.10.0.0/24', IPRange: '10.10.0.128/25' }] } } });
    assert.equal(r.statusCode, 201, r.body);
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'n3', IPAM: { Config: [{ Subnet: '10.10.0.0/16' }] } } });
    assert.equal(r.statusCode, 403);
    assert.match(msg(r), /Pool overlaps with other one on this address space/);
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'bridge' } });
    assert.equal(r.statusCode, 403);
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'bad name' } });
    assert.equal(r.statusCode, 400);
    assert.match(msg(r), /^Name: invalid network name/);
    // a bridge network stays the engine's
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'mybr', Driver: 'bridge' } });
    assert.equal(r.statusCode, 201, r.body);
    assert.ok(local.nets.some((n) => n.Name === 'mybr'));

    // list: local + swarm, filters apply to both
    r = await app.inject({ method: 'GET', url: '/networks' });
    const all = r.json<Net[]>();
    assert.deepEqual(all.map((n) => `${n.Name}/${n.Scope}/${n.Driver}`).sort(), ['app/swarm/overlay', 'bridge/local/bridge', 'host/local/host', 'mybr/local/bridge', 'n2/swarm/overlay', 'none/local/null']);
    r = await app.inject({ method: 'GET', url: `/networks?filters=${encodeURIComponent(JSON.stringify({ driver: { overlay: true } }))}` });
    assert.deepEqual(r.json<Net[]>().map((n) => n.Name).sort(), ['app', 'n2']);
    r = await app.inject({ method: 'GET', url: `/networks?filters=${encodeURIComponent(JSON.stringify({ label: ['a=b'], name: ['ap'] }))}` });
    assert.deepEqual(r.json<Net[]>().map((n) => n.Name), ['app']);

    // inspect: the swarm record (by name, ID or prefix; scope=swarm as `docker service create --network` asks)
    r = await app.inject({ method: 'GET', url: '/networks/app?scope=swarm' });
    assert.equal(r.statusCode, 200, r.body);
    const rec = r.json<Record<string, unknown>>();
    assert.equal(rec.Id, appId);
    assert.equal(rec.Scope, 'swarm');
    assert.equal(rec.Attachable, true);
    assert.deepEqual(rec.Labels, { a: 'b' });
    assert.equal((await app.inject({ method: 'GET', url: `/networks/${appId.slice(0, 6)}` })).json<{ Name: string }>().Name, 'app');
    assert.equal((await app.inject({ method: 'GET', url: '/networks/mybr' })).json<{ Scope: string }>().Scope, 'local');
    r = await app.inject({ method: 'GET', url: '/networks/nope' });
    assert.equal(r.statusCode, 404);
    assert.equal(msg(r), 'network nope not found');
    assert.equal((await app.inject({ method: 'GET', url: '/networks/app?scope=local' })).statusCode, 404);

    // remove: refused while a service uses it
    await store.update((tx) => tx.create('services', { ID: 'svc0000000000000000000001', Spec: { Name: 'web', Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: appId }] } } } as unknown as Service));
    r = await app.inject({ method: 'DELETE', url: '/networks/app' });
    assert.equal(r.statusCode, 400);
    assert.equal(msg(r), `rpc error: code = FailedPrecondition desc = network ${appId} is in use by service svc0000000000000000000001`);
    await store.update((tx) => tx.delete('services', 'svc0000000000000000000001'));
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1.41/networks/app' })).statusCode, 204);
    assert.equal((await app.inject({ method: 'DELETE', url: '/networks/mybr' })).statusCode, 204);
    assert.ok(!local.nets.some((n) => n.Name === 'mybr'), 'the engine removed its own');
    assert.equal((await app.inject({ method: 'GET', url: '/networks/app' })).statusCode, 404);

    // prune: unused swarm networks go (n2, unused), a used one and the ingress network stay
    await store.update((tx) => {
      tx.create('networks', { ID: 'ing0000000000000000000001', Spec: { Name: 'ingress', DriverConfiguration: { Name: 'overlay' }, Ingress: true, Scope: 'swarm' } } as never);
      tx.create('networks', { ID: 'used000000000000000000001', Spec: { Name: 'used', DriverConfiguration: { Name: 'overlay' }, Scope: 'swarm' } } as never);
      tx.create('services', { ID: 'svc0000000000000000000002', Spec: { Name: 'api', Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'used' }] } } } as unknown as Service);
    });
    r = await app.inject({ method: 'POST', url: '/v1.41/networks/prune' });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json<{ NetworksDeleted: string[] }>().NetworksDeleted, ['n2']);
    assert.deepEqual(store.view((tx) => tx.find('networks').map((n) => n.Spec.Name)).sort(), ['ingress', 'used']);
    await store.update((tx) => {
      tx.delete('services', 'svc0000000000000000000002');
      tx.delete('networks', 'used000000000000000000001');
      tx.delete('networks', 'ing0000000000000000000001');
    });

    // a follower forwards swarm requests to the leader
    const forwarded: ForwardRequest[] = [];
    target = { kind: 'forward', forward: async (req) => (forwarded.push(req), injectControl(control, req)) };
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'fwd' } });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(forwarded[0]?.url, '/networks/create');
    assert.equal(JSON.parse(forwarded[0]!.body!).Name, 'fwd');

    // a worker: overlay creation refused with Docker's words, the list is its own
    target = { kind: 'refuse', status: 503, message: NOT_A_MANAGER_WORKER };
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'w' } });
    assert.equal(r.statusCode, 403);
    assert.equal(msg(r), WORKER_OVERLAY_CREATE);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/networks' })).json<Net[]>().map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
    // its instance of a swarm network is the agent's to remove
    local.nets.push({ Name: 'fwd', Id: 'f'.repeat(64), Scope: 'swarm', Driver: 'overlay', Labels: {}, Containers: {} });
    r = await app.inject({ method: 'DELETE', url: '/networks/fwd' });
    assert.equal(r.statusCode, 403);
    assert.match(msg(r), /swarm-scoped network: remove it from a manager node/);
    assert.ok(local.nets.some((n) => n.Name === 'fwd'));
    local.nets.pop();
    // no swarm: the engine explains overlay needs one
    target = { kind: 'refuse', status: 503, message: NOT_A_MANAGER_INACTIVE };
    r = await app.inject({ method: 'POST', url: '/networks/create', payload: { ...body, Name: 'w' } });
    assert.equal(r.statusCode, 400);
    assert.match(msg(r), /overlay networks need a swarm/);
  } finally {
    await app.close();
    await control.close();
  }
});

test('a service names swarm networks only: an unknown one is 404, the ingress network and the engine networks are refused', async () => {
  const store = createStandaloneStore({ now: () => new Date(0).toISOString() });
  const control = await buildControlApp({ store, voters: () => [] });
  try {
    await store.update((tx) => {
      tx.create('networks', { ID: 'ing0000000000000000000001', Spec: { Name: 'ingress', DriverConfiguration: { Name: 'overlay' }, Ingress: true, Scope: 'swarm' } } as never);
      tx.create('networks', { ID: 'app0000000000000000000001', Spec: { Name: 'app', DriverConfiguration: { Name: 'overlay' }, Scope: 'swarm' } } as never);
    });
    const svc = (target: string, name = 'web') => ({ Name: name, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: target }] }, Mode: { Replicated: { Replicas: 1 } } });
    const post = (body: unknown) => control.inject({ method: 'POST', url: '/services/create', payload: body as object });
    let r = await post(svc('nope'));
    assert.equal(r.statusCode, 404);
    assert.equal(r.json<{ message: string }>().message, 'TaskTemplate.Networks[0]: network nope not found');
    r = await post(svc('ingress'));
    assert.equal(r.statusCode, 400);
    assert.match(r.json<{ message: string }>().message, /Service cannot be explicitly attached to the ingress network "ingress"/);
    r = await post(svc('bridge'));
    assert.equal(r.statusCode, 403);
    assert.match(r.json<{ message: string }>().message, /The network bridge cannot be used with services/);
    assert.equal(store.view((tx) => tx.count('services')), 0, 'nothing created');
    assert.equal((await post(svc('app'))).statusCode, 201, 'by name');
    assert.equal((await post(svc('app0000000000000000000001', 'api'))).statusCode, 201, 'by ID');
  } finally {
    await control.close();
  }
});
