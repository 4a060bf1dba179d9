// The allocator loop and the routing mesh: the leader makes the ingress network once (10.0.0.0/24; a
// removed one is not made again); a service that publishes in ingress mode gets a VIP on it and its
// tasks an address there, beside their own networks; every node then gets an address of its own on it;
// a deleted node's address and a deleted network's subnet are given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AllocatorLoop } from '../../../manager/orchestrator/index.js';
import { createStandaloneStore, defaultSwarmSpec, type Cluster, type Network, type Service, type Task } from '../../../manager/store/index.js';
import { addNodes, taskObject } from '../dispatcher/fixtures.js';

async function until<T>(what: string, fn: () => Promise<T | undefined>, limitMs: number, everyMs: number): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const SVC = 'svcweb'.padEnd(25, '0');

test('ingress made once; a publishing service and its tasks join it; every node gets an address; deleted ones are given back', async () => {
  let t = 0;
  const store = createStandaloneStore({ now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString() });
  await addNodes(store, ['n1', 'n2']);
  await store.update((tx) => tx.create('clusters', { ID: 'c'.repeat(25), Spec: defaultSwarmSpec(), JoinTokens: { Worker: '', Manager: '' }, RootCACert: '', RootCADigest: '' } as unknown as Cluster));
  const loop = new AllocatorLoop();
  loop.start({ store, now: () => Date.UTC(2026, 0, 1), random: Math.random, log: quiet as never, nodeId: 'n1' });
  try {
    const ingress = await until('the ingress network, allocated', async () => store.view((tx) => tx.find('networks').find((n) => n.Spec.Ingress && n.IPAMOptions?.Configs?.[0])), 10_000, 20);
    assert.equal(ingress.Spec.Name, 'ingress');
    assert.deepEqual(ingress.IPAMOptions?.Configs, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    assert.equal(store.view((tx) => tx.find('clusters')[0]!.IngressCreated), true);

    await store.update((tx) => tx.create('networks', { ID: 'app'.padEnd(25, '0'), Spec: { Name: 'app', DriverConfiguration: { Name: 'overlay' }, Scope: 'swarm' } } as Network));
    const app = await until('app allocated', async () => store.view((tx) => tx.get('networks', 'app'.padEnd(25, '0'))?.IPAMOptions?.Configs?.[0]), 10_000, 20);
    assert.equal(app.Subnet, '10.0.1.0/24', 'user networks come after the ingress subnet');
    assert.deepEqual(store.view((tx) => tx.find('nodes').map((n) => n.Attachments)), [undefined, undefined], 'no node address while nothing publishes');

    const ports = [{ Protocol: 'tcp' as const, TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' as const }];
    await store.update((tx) => {
      tx.create('services', { ID: SVC, Spec: { Name: 'web', Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'app' }] }, EndpointSpec: { Mode: 'vip', Ports: ports } } } as Omit<Service, 'Meta'>);
      const task = taskObject({ id: 't'.repeat(25), nodeId: '', service: 'web', state: 'new' });
      tx.create('tasks', { ...task, ServiceID: SVC, Spec: { ...task.Spec, Networks: [{ Target: 'app' }] } } as Omit<Task, 'Meta'>);
    });
    const svc = await until('the service endpoint', async () => store.view((tx) => tx.get('services', SVC)?.Endpoint), 10_000, 20);
    assert.deepEqual(svc.VirtualIPs?.map((v) => v.NetworkID).sort(), [ingress.ID, 'app'.padEnd(25, '0')].sort());
    const task = await until('the task pending with its addresses', async () => store.view((tx) => { const x = tx.get('tasks', 't'.repeat(25)); return x?.Status.State === 'pending' ? x : undefined; }), 10_000, 20);
    assert.deepEqual(task.NetworksAttachments?.map((a) => a.Network.Spec.Name), ['app', 'ingress']);
    const nodes = await until('every node with an ingress address', async () => {
      const ns = store.view((tx) => tx.find('nodes'));
      return ns.every((n) => n.Attachments?.[0]?.Network.ID === ingress.ID) ? ns : undefined;
    }, 10_000, 20);
    const addrs = new Set([...nodes.map((n) => n.Attachments![0]!.Addresses[0]), task.NetworksAttachments![1]!.Addresses[0], svc.VirtualIPs!.find((v) => v.NetworkID === ingress.ID)!.Addr]);
    assert.equal(addrs.size, 4, `ingress addresses are never handed out twice: ${[...addrs].join(', ')}`);

    // the removed ingress network is not made again
    await store.update((tx) => tx.delete('services', SVC));
    await store.update((tx) => tx.delete('tasks', 't'.repeat(25)));
    await store.update((tx) => {
      for (const n of tx.find('nodes')) tx.update('nodes', { ...n, Attachments: [] });
      tx.delete('networks', ingress.ID);
    });
    // a deleted network's subnet is free again
    await store.update((tx) => tx.delete('networks', 'app'.padEnd(25, '0')));
    await store.update((tx) => tx.create('networks', { ID: 'app2'.padEnd(25, '0'), Spec: { Name: 'app2', DriverConfiguration: { Name: 'overlay' }, Scope: 'swarm' } } as Network));
    const app2 = await until('app2 allocated', async () => store.view((tx) => tx.get('networks', 'app2'.padEnd(25, '0'))?.IPAMOptions?.Configs?.[0]), 10_000, 20);
    assert.equal(app2.Subnet, '10.0.0.0/24', 'the subnets of deleted networks are free again');
    assert.equal(store.view((tx) => tx.find('networks').filter((n) => n.Spec.Ingress).length), 0, 'a removed ingress is not made again');
  } finally {
    await loop.stop();
  }
});
