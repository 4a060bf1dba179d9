// Network views: what a node learns of each overlay its tasks are on — peers (every live task's
// address and MAC, with its node's underlay address), DNS records (service → VIP, or task addresses for
// dnsrr; tasks.<service>; task names; aliases) and VIP backends (running tasks only) — derived from the
// store, and sent to every node on that network when a task elsewhere starts or stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Dispatcher, type AssignmentMessage, type NetworkView, type Sink, applyNetworkPatch, computeAssignments, diffNetworkView, macForAddress, networkView,
} from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, type Network, type Service, type Task, type TaskState } from '../../../manager/store/index.js';
import { macForIPv4 } from '../../../worker/engine/network/ipv4.js';
import { ManualClock, addNodes, quietLog, taskObject } from './fixtures.js';

const NET = 'net'.padEnd(25, '0');
const SVC = 'svcweb'.padEnd(25, '0');
const SVC2 = 'svcdb'.padEnd(25, '0');

function network(): Omit<Network, 'Meta'> {
  return {
    ID: NET,
    Spec: { Name: 'appnet', DriverConfiguration: { Name: 'overlay' } },
    DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' } },
    IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] },
  };
}

function service(id: string, name: string, vip: string | undefined, mode: 'vip' | 'dnsrr' = 'vip', aliases: string[] = []): Omit<Service, 'Meta'> {
  return {
    ID: id,
    Spec: {
      Name: name,
      TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: NET, Aliases: aliases }] },
      Mode: { Replicated: { Replicas: 2 } },
      EndpointSpec: { Mode: mode },
    },
    Endpoint: { Spec: { Mode: mode }, ...(vip ? { VirtualIPs: [{ NetworkID: NET, Addr: `${vip}/24` }] } : {}) },
  };
}

function onNet(o: { id: string; node: string; service: string; serviceId: string; slot: number; ip: string; state?: TaskState; desired?: TaskState }, net: Network): Omit<Task, 'Meta'> {
  const t = taskObject({ id: o.id, nodeId: o.node, service: o.service, slot: o.slot, state: o.state ?? 'running', desired: o.desired ?? 'running' });
  return { ...t, ServiceID: o.serviceId, NetworksAttachments: [{ Network: net, Addresses: [`${o.ip}/24`] }] };
}

test('pure: the view of a network holds its peers, DNS records and VIP backends from the store', async () => {
  const store = createStandaloneStore({ now: () => new Date(0).toISOString() });
  await addNodes(store, ['n1', 'n2', 'n3']);
  await store.update((tx) => {
    for (const [id, addr] of [['n1', '192.168.7.1'], ['n2', '192.168.7.2'], ['n3', '']] as const) {
      const n = tx.get('nodes', id)!;
      tx.update('nodes', { ...n, Status: { ...n.Status, Addr: addr } });
    }
    tx.create('networks', network());
  });
  const net = store.view((tx) => tx.get('networks', NET)!);
  await store.update((tx) => {
    tx.create('services', service(SVC, 'web', '10.0.1.2', 'vip', ['www']));
    tx.create('services', service(SVC2, 'db', undefined, 'dnsrr'));
    tx.create('tasks', onNet({ id: 'a'.repeat(25), node: 'n1', service: 'web', serviceId: SVC, slot: 1, ip: '10.0.1.3' }, net));
    tx.create('tasks', onNet({ id: 'b'.repeat(25), node: 'n2', service: 'web', serviceId: SVC, slot: 2, ip: '10.0.1.4' }, net));
    // starting: a peer (its address is taken) but not yet a backend
    tx.create('tasks', onNet({ id: 'c'.repeat(25), node: 'n2', service: 'web', serviceId: SVC, slot: 3, ip: '10.0.1.5', state: 'starting' }, net));
    // ended: neither
    tx.create('tasks', onNet({ id: 'd'.repeat(25), node: 'n1', service: 'web', serviceId: SVC, slot: 4, ip: '10.0.1.6', state: 'failed', desired: 'shutdown' }, net));
    // running but being shut down: a peer until it ends, no longer a backend
    tx.create('tasks', onNet({ id: 'e'.repeat(25), node: 'n1', service: 'web', serviceId: SVC, slot: 5, ip: '10.0.1.7', desired: 'shutdown' }, net));
    tx.create('tasks', onNet({ id: 'f'.repeat(25), node: 'n2', service: 'db', serviceId: SVC2, slot: 1, ip: '10.0.1.8' }, net));
    // a node without an underlay address yet: no peer entry
    tx.create('tasks', onNet({ id: 'g'.repeat(25), node: 'n3', service: 'db', serviceId: SVC2, slot: 2, ip: '10.0.1.9' }, net));
  });
  const v = store.view((tx) => networkView(tx.get('networks', NET)!, tx.find('tasks'), (id) => tx.get('services', id), (id) => tx.get('nodes', id)))!;
  assert.deepEqual(v.network, { id: NET, name: 'appnet', vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1' });
  assert.deepEqual(v.peers.map((p) => `${p.ip}@${p.vtep}`), ['10.0.1.3@192.168.7.1', '10.0.1.4@192.168.7.2', '10.0.1.5@192.168.7.2', '10.0.1.7@192.168.7.1', '10.0.1.8@192.168.7.2']);
  for (const p of v.peers) {
    const n = p.ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
    assert.equal(p.mac, macForIPv4(n), 'the MAC the engine gives that address');
    assert.equal(p.mac, macForAddress(p.ip));
  }
  assert.deepEqual(v.vips, [{ vip: '10.0.1.2', backends: ['10.0.1.3', '10.0.1.4'] }]);
  assert.deepEqual(v.records['web'], ['10.0.1.2']);
  assert.deepEqual(v.records['www'], ['10.0.1.2'], 'network aliases of the service resolve like its name');
  assert.deepEqual(v.records['tasks.web'], ['10.0.1.3', '10.0.1.4']);
  assert.deepEqual(v.records[`web.1.${'a'.repeat(25)}`], ['10.0.1.3']);
  assert.deepEqual(v.records['db'], ['10.0.1.8', '10.0.1.9'], 'dnsrr: the name resolves to the task addresses');
  assert.deepEqual(v.records['tasks.db'], ['10.0.1.8', '10.0.1.9']);
  assert.equal(v.records[`web.3.${'c'.repeat(25)}`], undefined);

  // a node's set holds the views of its tasks' networks only
  const n1 = store.view((tx) => computeAssignments(tx, 'n1'));
  assert.deepEqual([...n1.networks.keys()], [NET]);
  await store.update((tx) => tx.create('tasks', taskObject({ id: 'h'.repeat(25), nodeId: 'n3' })));
  const bare = store.view((tx) => computeAssignments(tx, 'n3'));
  assert.deepEqual([...bare.networks.keys()], [NET], 'n3 has a task on the network');
  store.close();
});

test('dispatcher: a task starting on another node updates the network view of every node on that network, and of no other', async () => {
  const clock = new ManualClock();
  const store = createStandaloneStore({ now: () => new Date(clock.t).toISOString() });
  await addNodes(store, ['n1', 'n2', 'n3']);
  await store.update((tx) => {
    for (const [id, addr] of [['n1', '192.168.7.1'], ['n2', '192.168.7.2'], ['n3', '192.168.7.3']] as const) {
      const n = tx.get('nodes', id)!;
      tx.update('nodes', { ...n, Status: { ...n.Status, Addr: addr } });
    }
    tx.create('networks', network());
    tx.create('services', service(SVC, 'web', '10.0.1.2'));
  });
  const net = store.view((tx) => tx.get('networks', NET)!);
  await store.update((tx) => {
    tx.create('tasks', onNet({ id: 'a'.repeat(25), node: 'n1', service: 'web', serviceId: SVC, slot: 1, ip: '10.0.1.3' }, net));
    tx.create('tasks', onNet({ id: 'b'.repeat(25), node: 'n2', service: 'web', serviceId: SVC, slot: 2, ip: '10.0.1.4', state: 'assigned' }, net));
    tx.create('tasks', taskObject({ id: 'z'.repeat(25), nodeId: 'n3' })); // no network
  });
  const d = new Dispatcher({ timers: clock, batchMs: 5, heartbeatPeriodMs: 1000 });
  d.start({ store, now: clock.now, random: () => 0, log: quietLog, nodeId: 'm' });
  const got = new Map<string, AssignmentMessage[]>();
  for (const n of ['n1', 'n2', 'n3']) {
    const sid = d.session(n, { addr: '' }, { send() {}, end() {} });
    const list: AssignmentMessage[] = [];
    got.set(n, list);
    const sink: Sink<AssignmentMessage> = { send: (m) => void list.push(m), end() {} };
    d.assignments(n, sid, sink);
  }
  // what each node holds, as its agent does: full views, then patches applied to them
  const held = new Map<string, NetworkView>();
  const viewIn = (m: AssignmentMessage | undefined, node = 'n1'): NetworkView | undefined => {
    for (const c of m?.changes ?? []) {
      if (c.kind !== 'network' || c.action === 'remove') continue;
      const v = c.action === 'update' ? c.network : applyNetworkPatch(held.get(`${node}/${c.id}`)!, c.patch);
      held.set(`${node}/${v.network.id}`, v);
      return v;
    }
    return undefined;
  };
  const first = viewIn(got.get('n1')![0]);
  viewIn(got.get('n2')![0], 'n2');
  assert.ok(first, 'the complete set carries the network view');
  assert.deepEqual(first.vips, [{ vip: '10.0.1.2', backends: ['10.0.1.3'] }]);
  assert.equal(first.peers.length, 2);
  assert.equal(viewIn(got.get('n3')![0]), undefined);

  // the task on n2 runs: n1 (and n2) get the new backend; n3 hears nothing
  await store.update((tx) => {
    const b = tx.get('tasks', 'b'.repeat(25))!;
    tx.update('tasks', { ...b, Status: { ...b.Status, State: 'running' } });
  });
  await clock.advance(10);
  const patchMsg = got.get('n1')!.at(-1)!;
  const pc = patchMsg.changes.find((c) => c.kind === 'network');
  assert.equal(pc?.action, 'patch', 'a view the node holds changes by a patch');
  assert.ok(JSON.stringify(pc).length < JSON.stringify(first).length, 'the patch is smaller than the view');
  const upd = viewIn(patchMsg);
  assert.ok(upd, 'n1 got an incremental network view');
  assert.deepEqual(upd.vips, [{ vip: '10.0.1.2', backends: ['10.0.1.3', '10.0.1.4'] }]);
  assert.deepEqual(viewIn(got.get('n2')!.at(-1), 'n2')?.vips, upd.vips);
  assert.equal(got.get('n3')!.length, 1, 'a node on no overlay gets no message');

  // n2's underlay address changes: every holder of the view gets the new peer entry
  await store.update((tx) => {
    const n = tx.get('nodes', 'n2')!;
    tx.update('nodes', { ...n, Status: { ...n.Status, Addr: '192.168.7.22' } });
  });
  await clock.advance(10);
  assert.ok(viewIn(got.get('n1')!.at(-1))!.peers.some((p) => p.vtep === '192.168.7.22'));

  // the task on n1 is removed from its node: n1's set loses the network
  await store.update((tx) => tx.delete('tasks', 'a'.repeat(25)));
  await clock.advance(10);
  const last = got.get('n1')!.at(-1)!;
  assert.ok(last.changes.some((c) => c.action === 'remove' && c.kind === 'network' && c.id === NET));
  await d.stop();
  store.close();
});

test('pure: a patch between two views, applied to the first, gives the second exactly (random views)', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const randomView = (): NetworkView => {
    const ips = [...new Set(Array.from({ length: rnd(12) }, () => `10.0.1.${2 + rnd(40)}`))];
    const peers = ips.map((ip) => ({ ip, mac: macForAddress(ip), vtep: `192.168.7.${1 + rnd(3)}` })).sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    const records: Record<string, string[]> = {};
    for (const name of ['web', 'tasks.web', 'db', 'tasks.db', 'www']) if (rnd(2)) records[name] = ips.filter(() => rnd(2) === 1).sort();
    const vips = ['10.0.1.2', '10.0.1.200'].filter(() => rnd(2) === 1).map((vip) => ({ vip, backends: ips.filter(() => rnd(2) === 1).sort() }));
    return {
      network: { id: NET, name: 'appnet', vni: 4097 + rnd(2), subnet: '10.0.1.0/24', gateway: '10.0.1.1' },
      peers,
      records: Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : 1))),
      vips,
    };
  };
  for (let i = 0; i < 500; i++) {
    const a = randomView();
    const b = randomView();
    const p = diffNetworkView(a, b);
    if (p === null) assert.deepEqual(a, b);
    else assert.deepEqual(applyNetworkPatch(a, p), b, JSON.stringify({ a, b, p }));
    assert.equal(diffNetworkView(a, a), null);
  }
});
