import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateId, type Service, type ServiceSpec } from '../../../manager/store/index.js';
import { validateServiceSpec } from '../../../manager/controlapi/validate.js';
import { SimCluster } from './sim-cluster.js';

const S = 1_000_000_000;
let n = 0;
const rb = (k: number): Uint8Array => {
  n++;
  return Uint8Array.from({ length: k }, (_, i) => (i * 31 + n * 7) & 255);
};

async function create(c: SimCluster, body: Record<string, unknown>): Promise<Service> {
  const spec = validateServiceSpec(body);
  const id = generateId(rb);
  const { result } = await c.store.update((tx) => tx.create('services', { ID: id, Spec: spec }));
  return result;
}

async function update(c: SimCluster, id: string, f: (s: ServiceSpec) => ServiceSpec): Promise<void> {
  await c.store.update((tx) => {
    const s = tx.get('services', id)!;
    const { UpdateStatus: _u, ...rest } = s;
    tx.update('services', { ...rest, PreviousSpec: s.Spec, Spec: validateServiceSpec(f(structuredClone(s.Spec) as ServiceSpec)) });
  });
}

const image = (i: string) => ({ ContainerSpec: { Image: i } });
const spread = (c: SimCluster, id: string) => {
  const m: Record<string, number> = {};
  for (const t of c.running(id)) m[t.NodeID] = (m[t.NodeID] ?? 0) + 1;
  return m;
};

test('replicated service scales 3 → 50 → 0, spread evenly, scaled-down tasks removed', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) await c.addNode(id);
    const s = await create(c, { Name: 'web', TaskTemplate: image('busybox'), Mode: { Replicated: { Replicas: 3 } } });
    await c.until('3 running', () => c.running(s.ID).length === 3);
    assert.deepEqual(c.running(s.ID).map((t) => t.Slot).sort((a, b) => a - b), [1, 2, 3]);
    await update(c, s.ID, (sp) => ({ ...sp, Mode: { Replicated: { Replicas: 50 } } }));
    await c.until('50 running', () => c.running(s.ID).length === 50);
    assert.deepEqual(Object.values(spread(c, s.ID)), [10, 10, 10, 10, 10]);
    await update(c, s.ID, (sp) => ({ ...sp, Mode: { Replicated: { Replicas: 0 } } }));
    await c.until('all removed', () => c.tasks(s.ID).length === 0);
  } finally {
    await c.stop();
  }
});

test('global service follows nodes joining and draining', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('g1');
    await c.addNode('g2');
    const s = await create(c, { Name: 'agent', TaskTemplate: image('busybox'), Mode: { Global: {} } });
    await c.until('on 2 nodes', () => c.running(s.ID).length === 2);
    await c.addNode('g3');
    await c.until('on 3 nodes', () => c.running(s.ID).length === 3);
    await c.drain('g1');
    await c.until('off g1', () => c.running(s.ID).length === 2 && c.running(s.ID).every((t) => t.NodeID !== 'g1'));
    assert.ok(c.tasks(s.ID).filter((t) => t.NodeID === 'g1').every((t) => t.Status.State === 'shutdown'));
  } finally {
    await c.stop();
  }
});

test('a down node\'s tasks run elsewhere', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    for (const id of ['d1', 'd2', 'd3']) await c.addNode(id);
    const s = await create(c, { Name: 'web', TaskTemplate: image('busybox'), Mode: { Replicated: { Replicas: 6 } } });
    await c.until('6 running', () => c.running(s.ID).length === 6);
    await c.nodeDown('d1');
    await c.until('6 running on d2/d3', () => c.running(s.ID).filter((t) => t.NodeID !== 'd1').length === 6);
    assert.deepEqual(spread(c, s.ID), { d2: 3, d3: 3 });
    assert.ok(c.tasks(s.ID).filter((t) => t.NodeID === 'd1').every((t) => t.DesiredState === 'shutdown'));
  } finally {
    await c.stop();
  }
});

test('a constraint change moves the tasks to the nodes that match', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('c1', { labels: { disk: 'hdd' } });
    await c.addNode('c2', { labels: { disk: 'ssd' } });
    const s = await create(c, { Name: 'db', TaskTemplate: image('busybox'), Mode: { Replicated: { Replicas: 4 } }, UpdateConfig: { Parallelism: 0, Monitor: 0 } });
    await c.until('4 running', () => c.running(s.ID).length === 4);
    await update(c, s.ID, (sp) => ({ ...sp, TaskTemplate: { ...sp.TaskTemplate, Placement: { Constraints: ['node.labels.disk==ssd'] } } }));
    await c.until('all on c2', () => c.running(s.ID).length === 4 && c.running(s.ID).every((t) => t.NodeID === 'c2'));
    // a label change on the node: the constraint enforcer moves them again
    await c.addNode('c3', { labels: { disk: 'ssd' } });
    await c.setNode('c2', (nd) => ({ ...nd, Spec: { ...nd.Spec, Labels: { disk: 'hdd' } } }));
    await c.until('all on c3', () => c.running(s.ID).length === 4 && c.running(s.ID).every((t) => t.NodeID === 'c3'));
  } finally {
    await c.stop();
  }
});

test('a failing task follows its restart policy: max attempts, then the slot stays failed', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('f1');
    c.failImages.add('broken');
    const s = await create(c, {
      Name: 'crash',
      TaskTemplate: { ...image('broken'), RestartPolicy: { Condition: 'on-failure', Delay: 0.05 * S, MaxAttempts: 2 } },
      Mode: { Replicated: { Replicas: 1 } },
    });
    await c.until('3 failed tasks', () => c.tasks(s.ID).filter((t) => t.Status.State === 'failed').length === 3);
    await new Promise((r) => setTimeout(r, 300));
    const all = c.tasks(s.ID);
    assert.equal(all.length, 3, 'first run + 2 restarts, no more');
    assert.ok(all.every((t) => t.Slot === 1));
    assert.equal(all.filter((t) => t.DesiredState === 'running').length, 1, 'the last failed task keeps the slot');
  } finally {
    await c.stop();
  }
});

test('a task that fits nowhere stays pending with Docker\'s reason, and is placed when a fitting node joins', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('p1', { labels: { gpu: 'no' } });
    const s = await create(c, { Name: 'gpu', TaskTemplate: { ...image('cuda'), Placement: { Constraints: ['node.labels.gpu==yes'] } }, Mode: { Replicated: { Replicas: 2 } } });
    await c.until('pending with a reason', () => c.tasks(s.ID).length === 2 && c.tasks(s.ID).every((t) => t.Status.State === 'pending' && t.Status.Err !== undefined));
    assert.equal(c.tasks(s.ID)[0]!.Status.Err, 'no suitable node (scheduling constraints not satisfied on 1 node)');
    await c.addNode('p2', { labels: { gpu: 'yes' } });
    await c.until('both run on p2', () => c.running(s.ID).length === 2 && c.running(s.ID).every((t) => t.NodeID === 'p2'));
  } finally {
    await c.stop();
  }
});

test('global job runs once on every eligible node, also on a node that joins later', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('gj1');
    await c.addNode('gj2', { role: 'manager' });
    const s = await create(c, { Name: 'once', TaskTemplate: { ...image('migrate'), Placement: { Constraints: ['node.role==worker'] } }, Mode: { GlobalJob: {} } });
    await c.until('running on gj1', () => c.running(s.ID).length === 1 && c.running(s.ID)[0]!.NodeID === 'gj1');
    const t = c.running(s.ID)[0]!;
    await c.store.update((tx) => {
      const cur = tx.get('tasks', t.ID)!;
      tx.update('tasks', { ...cur, Status: { ...cur.Status, State: 'complete' } });
    });
    await c.addNode('gj3');
    await c.until('running on gj3', () => c.running(s.ID).length === 1 && c.running(s.ID)[0]!.NodeID === 'gj3');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.tasks(s.ID).filter((x) => x.NodeID === 'gj1').length, 1, 'the completed job is not re-run');
    assert.equal(c.tasks(s.ID).filter((x) => x.NodeID === 'gj2').length, 0, 'the manager does not match the constraint');
  } finally {
    await c.stop();
  }
});

test('published ports: the allocator fills Endpoint.Ports (dynamic from 30000) and tasks carry them', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('e1');
    const s = await create(c, { Name: 'pub', TaskTemplate: image('nginx'), Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }, { TargetPort: 443 }] } });
    await c.until('running', () => c.running(s.ID).length === 1);
    const svc = c.store.view((tx) => tx.get('services', s.ID)!);
    assert.deepEqual(svc.Endpoint?.Ports?.map((p) => [p.TargetPort, p.PublishedPort, p.PublishMode]), [[80, 8080, 'ingress'], [443, 30000, 'ingress']]);
    assert.deepEqual(c.running(s.ID)[0]!.Endpoint?.Ports, svc.Endpoint?.Ports);
  } finally {
    await c.stop();
  }
});

test('stopped loops (leadership lost) change nothing; started again (new leader) they pick up from the store', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('l1');
    await c.addNode('l2');
    const s = await create(c, { Name: 'lead', TaskTemplate: image('busybox'), Mode: { Replicated: { Replicas: 2 } } });
    await c.until('2 running', () => c.running(s.ID).length === 2);
    for (const l of c.loops) await l.stop();
    await update(c, s.ID, (sp) => ({ ...sp, Mode: { Replicated: { Replicas: 4 } } }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.tasks(s.ID).length, 2, 'no leader, no new tasks');
    const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    for (const l of c.loops) await l.start({ store: c.store, now: Date.now, random: c.random, log: silent, nodeId: 'manager-2' });
    await c.until('4 running', () => c.running(s.ID).length === 4);
  } finally {
    await c.stop();
  }
});

test('overlay networks get a subnet and VXLAN ID, services a VIP per network, tasks distinct addresses (network named by name)', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    await c.addNode('v1');
    await c.store.update((tx) => tx.create('networks', { ID: 'net00000000000000000000001', Spec: { Name: 'backend', DriverConfiguration: { Name: 'overlay' }, Scope: 'swarm' } }));
    const s = await create(c, { Name: 'vip', TaskTemplate: { ...image('app'), Networks: [{ Target: 'backend' }], RestartPolicy: { Delay: 0 } }, Mode: { Replicated: { Replicas: 3 } } });
    await c.until('3 running', () => c.running(s.ID).length === 3);
    const net = c.store.view((tx) => tx.get('networks', 'net00000000000000000000001')!);
    // as in Docker: the swarm's ingress network holds 10.0.0.0/24, the first user overlay gets the next /24
    const ingress = c.store.view((tx) => tx.find('networks').find((n) => n.Spec.Ingress === true));
    assert.deepEqual(ingress?.IPAMOptions?.Configs, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    assert.deepEqual(net.IPAMOptions?.Configs, [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }]);
    const vnis = [ingress, net].map((n) => n?.DriverState?.Options?.['com.docker.network.driver.overlay.vxlanid_list']);
    assert.deepEqual(new Set(vnis).size, 2, `distinct VXLAN IDs: ${vnis.join()}`);
    assert.ok(vnis.every((v) => Number(v) >= 4096), vnis.join());
    const svc = c.store.view((tx) => tx.get('services', s.ID)!);
    assert.deepEqual(svc.Endpoint?.VirtualIPs, [{ NetworkID: 'net00000000000000000000001', Addr: '10.0.1.2/24' }]);
    const addrs = c.running(s.ID).map((t) => t.NetworksAttachments?.[0]?.Addresses[0]).sort();
    assert.deepEqual(addrs, ['10.0.1.3/24', '10.0.1.4/24', '10.0.1.5/24']);
    // a replacement gets an address of its own (allocation is serial: the freed one is not reused at once)
    const victim = c.running(s.ID).find((t) => t.NetworksAttachments?.[0]?.Addresses[0] === '10.0.1.4/24')!;
    await c.store.update((tx) => {
      const cur = tx.get('tasks', victim.ID)!;
      tx.update('tasks', { ...cur, Status: { ...cur.Status, State: 'failed', Err: 'boom' } });
    });
    await c.until('replacement runs', () => c.running(s.ID).length === 3 && !c.running(s.ID).some((t) => t.ID === victim.ID), 15_000);
    const now = c.running(s.ID).map((t) => t.NetworksAttachments?.[0]?.Addresses[0]!);
    assert.equal(new Set(now).size, 3);
    assert.ok(now.every((a) => /^10\.0\.1\.\d+\/24$/.test(a) && a !== '10.0.1.2/24'), now.join());
  } finally {
    await c.stop();
  }
});

test('drain moves replicated tasks off a node; pause keeps them but places nothing new there', async () => {
  const c = new SimCluster();
  await c.start();
  try {
    for (const id of ['a1', 'a2', 'a3']) await c.addNode(id);
    const s = await create(c, { Name: 'web', TaskTemplate: image('busybox'), Mode: { Replicated: { Replicas: 3 } } });
    await c.until('3 running', () => c.running(s.ID).length === 3);
    await c.setNode('a2', (nd) => ({ ...nd, Spec: { ...nd.Spec, Availability: 'pause' } }));
    await update(c, s.ID, (sp) => ({ ...sp, Mode: { Replicated: { Replicas: 5 } } }));
    await c.until('5 running', () => c.running(s.ID).length === 5);
    assert.deepEqual(spread(c, s.ID), { a1: 2, a2: 1, a3: 2 });
    await c.drain('a3');
    await c.until('off a3', () => c.running(s.ID).length === 5 && !c.running(s.ID).some((t) => t.NodeID === 'a3'));
    assert.deepEqual(spread(c, s.ID), { a1: 4, a2: 1 });
  } finally {
    await c.stop();
  }
});
