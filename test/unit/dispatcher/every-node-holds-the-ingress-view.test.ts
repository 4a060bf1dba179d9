// The ingress network's view (the routing mesh): every node holds it, those with no task on it too;
// it lists each node's own ingress address (also a VXLAN peer, with the engine's MAC for it) and the
// published ports, each led to its service's VIP, whose backends are the running tasks (none: the VIP
// stays, empty, so the port refuses); no DNS names on ingress; a change travels as a patch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyNetworkPatch, computeAssignments, diffNetworkView, macForAddress } from '../../../manager/dispatcher/index.js';
import { NetworkViewCache } from '../../../manager/dispatcher/network-view.js';
import { createStandaloneStore, type Network, type Service, type Task } from '../../../manager/store/index.js';
import { addNodes, taskObject } from './fixtures.js';

const ING = 'ingress'.padEnd(25, '0');
const SVC = 'svcweb'.padEnd(25, '0');

const ingress: Omit<Network, 'Meta'> = {
  ID: ING,
  Spec: { Name: 'ingress', DriverConfiguration: { Name: 'overlay' }, Ingress: true, Scope: 'swarm' },
  DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4096' } },
  IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }] },
};

const web: Omit<Service, 'Meta'> = {
  ID: SVC,
  Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] } },
  Endpoint: { Spec: { Mode: 'vip' }, Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }], VirtualIPs: [{ NetworkID: ING, Addr: '10.0.0.2/24' }] },
};

test('the ingress view: node addresses as peers, published ports to the VIP, no names; every node holds it; patches carry changes', async () => {
  const store = createStandaloneStore({ now: () => new Date(0).toISOString() });
  await addNodes(store, ['n1', 'n2', 'n3']);
  await store.update((tx) => {
    tx.create('networks', ingress);
    const net = tx.get('networks', ING)!;
    for (const [id, addr, ip] of [['n1', '192.168.7.1', '10.0.0.3'], ['n2', '192.168.7.2', '10.0.0.4'], ['n3', '192.168.7.3', '10.0.0.5']] as const) {
      const n = tx.get('nodes', id)!;
      tx.update('nodes', { ...n, Status: { ...n.Status, State: 'ready', Addr: addr }, Attachments: [{ Network: net, Addresses: [`${ip}/24`] }] });
    }
    tx.create('services', web);
  });
  // published, no task yet: the VIP is there with no backend
  let v = store.view((tx) => new NetworkViewCache(tx).ingress())!;
  assert.deepEqual(v.ingress, {
    nodes: [{ ip: '10.0.0.3', vtep: '192.168.7.1' }, { ip: '10.0.0.4', vtep: '192.168.7.2' }, { ip: '10.0.0.5', vtep: '192.168.7.3' }],
    ports: [{ protocol: 'tcp', publishedPort: 8080, targetPort: 80, vip: '10.0.0.2' }],
  });
  assert.deepEqual(v.vips, [{ vip: '10.0.0.2', backends: [] }]);
  assert.deepEqual(v.peers.map((p) => `${p.ip}@${p.vtep}`), ['10.0.0.3@192.168.7.1', '10.0.0.4@192.168.7.2', '10.0.0.5@192.168.7.3']);
  for (const p of v.peers) assert.equal(p.mac, macForAddress(p.ip));

  // a running task on n1: a backend and a peer; still no DNS names on ingress
  const net = store.view((tx) => tx.get('networks', ING)!);
  await store.update((tx) => {
    const t = taskObject({ id: 't'.repeat(25), nodeId: 'n1', service: 'web', state: 'running' });
    tx.create('tasks', { ...t, ServiceID: SVC, NetworksAttachments: [{ Network: net, Addresses: ['10.0.0.6/24'] }] } as Omit<Task, 'Meta'>);
  });
  const v2 = store.view((tx) => new NetworkViewCache(tx).ingress())!;
  assert.deepEqual(v2.vips, [{ vip: '10.0.0.2', backends: ['10.0.0.6'] }]);
  assert.deepEqual(v2.records, {});
  assert.ok(v2.peers.some((p) => p.ip === '10.0.0.6' && p.vtep === '192.168.7.1'));

  // n3 has no task anywhere and still holds the ingress view
  const set = store.view((tx) => computeAssignments(tx, 'n3'));
  assert.deepEqual([...set.networks.keys()], [ING]);
  assert.equal(set.tasks.size, 0);

  // the published port changes: the patch carries the routing mesh, and applies to the same view
  await store.update((tx) => {
    const s = tx.get('services', SVC)!;
    const ports = [{ Protocol: 'tcp' as const, TargetPort: 80, PublishedPort: 8081, PublishMode: 'ingress' as const }];
    tx.update('services', { ...s, Endpoint: { ...s.Endpoint!, Ports: ports } });
  });
  const v3 = store.view((tx) => new NetworkViewCache(tx).ingress())!;
  const patch = diffNetworkView(v2, v3)!;
  assert.deepEqual(patch.ingress?.ports, [{ protocol: 'tcp', publishedPort: 8081, targetPort: 80, vip: '10.0.0.2' }]);
  assert.equal(patch.peersAdded, undefined);
  assert.deepEqual(applyNetworkPatch(v2, patch), v3);
  assert.equal(diffNetworkView(v3, v3), null);
  v = v3;
  assert.ok(v.ingress);
});
