// Network attachments end to end with real parts: two "hosts" (network namespaces joined by a veth
// underlay), each with its own Engine and worker (startWorker, EngineExecutor), one Dispatcher over
// gRPC + mTLS on a standalone store holding an allocated overlay network, a service with a VIP and one
// task per host. The tasks' containers join the overlay with their allocated addresses; the network
// views the dispatcher derives program the VXLAN peers, the DNS records and the VIP on both hosts: a
// container reaches the task on the other host by its address, the VIP spreads over both, the
// embedded DNS answers the service name and tasks.<service>; a task shut down leaves the VIP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR, type NodeRole } from '../../../manager/ca/identity.js';
import { channelCredentials, serverCredentials, type TlsIdentity } from '../../../manager/ca/tls-credentials.js';
import { Dispatcher, dispatcherService } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, type Network, type Task } from '../../../manager/store/index.js';
import { startWorker, type WorkerHandle } from '../../../worker/agent/index.js';
import type { EngineExecutor } from '../../../worker/executor/index.js';
import { makeLab, nslookup, nslookupAddresses, shAsync } from '../network/netns-harness.js';
import { addNodes, quietLog, taskObject } from '../../unit/dispatcher/fixtures.js';
import { openEngineHost, until, type EngineHost } from './executor-fixture.js';

const CLUSTER = 'testcluster';

async function cert(ca: RootCA, nodeId: string, role: NodeRole): Promise<TlsIdentity> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role, clusterId: CLUSTER, now: new Date() }) };
}

test('tasks on two hosts share an overlay: cross-host reach by address, VIP over both, swarm DNS, a stopped task leaves the VIP', async () => {
  const lab = makeLab();
  const hosts: EngineHost[] = [];
  const workers: WorkerHandle[] = [];
  const ca = await RootCA.create({ clusterId: CLUSTER, now: new Date() });
  const store = createStandaloneStore({ now: () => new Date().toISOString() });
  const dispatcher = new Dispatcher({ heartbeatPeriodMs: 1000, batchMs: 10 });
  const server = new grpc.Server();
  try {
    // the engines are not told their underlay address: the session tells it (the node address the manager recorded)
    hosts.push(await openEngineHost({ lab }));
    hosts.push(await openEngineHost({ lab, hostNs: lab.clientNs, prefix: `u${lab.prefix.slice(1)}` }));
    const svc = dispatcherService(dispatcher);
    server.addService(svc.definition, svc.implementation);
    const managerId = await cert(ca, 'manager1', 'manager');
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', serverCredentials(managerId, ca.certPem), (e, p) => (e ? rej(e) : res(p))));
    dispatcher.start({ store, now: Date.now, random: Math.random, log: quietLog, nodeId: 'manager1' });

    // what the allocator would have written: the network's VXLAN ID and subnet, the service's VIP, the tasks' addresses
    const r = randomBytes(3);
    const sub = `172.${16 + (r[0]! % 10)}.${r[1]!}`;
    const vni = 5000 + (r.readUInt16BE(1) % 10000);
    const netId = `net${r.toString('hex')}`.padEnd(25, '0');
    const svcId = `svc${r.toString('hex')}`.padEnd(25, '0');
    const nodes = ['nodea000000000000000000001', 'nodeb000000000000000000001'].map((x) => x.slice(0, 25));
    await addNodes(store, nodes);
    const network: Omit<Network, 'Meta'> = {
      ID: netId,
      Spec: { Name: `app-${lab.prefix}`, DriverConfiguration: { Name: 'overlay' } },
      DriverState: { Name: 'overlay', Options: { 'com.docker.network.driver.overlay.vxlanid_list': String(vni) } },
      IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: `${sub}.0/24`, Gateway: `${sub}.1` }] },
    };
    await store.update((tx) => {
      tx.create('networks', network);
      tx.create('services', {
        ID: svcId,
        Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: netId }] }, Mode: { Replicated: { Replicas: 2 } } },
        Endpoint: { Spec: { Mode: 'vip' }, VirtualIPs: [{ NetworkID: netId, Addr: `${sub}.2/24` }] },
      });
    });
    const net = store.view((tx) => tx.get('networks', netId)!);
    const mk = (slot: number, node: string): Omit<Task, 'Meta'> => {
      const t = taskObject({ nodeId: node, service: 'web', slot });
      return {
        ...t,
        ServiceID: svcId,
        Spec: {
          ContainerSpec: {
            Image: 'busybox:latest',
            Command: ['sh', '-c', `mkdir -p /www; echo "web.${slot}" > /www/index.html; exec httpd -f -p 8080 -h /www`],
            StopGracePeriod: 0,
          },
          Networks: [{ Target: netId }],
        },
        NetworksAttachments: [{ Network: net, Addresses: [`${sub}.${10 + slot}/24`] }],
      };
    };
    const t1 = mk(1, nodes[0]!);
    const t2 = mk(2, nodes[1]!);
    await store.update((tx) => {
      tx.create('tasks', t1);
      tx.create('tasks', t2);
    });

    for (let i = 0; i < 2; i++) {
      const credentials = channelCredentials(await cert(ca, nodes[i]!, 'worker'), ca.certPem);
      workers.push(await startWorker({
        engine: hosts[i]!.engine, dataDir: hosts[i]!.dataRoot, managers: [`127.0.0.1:${port}`], credentials, nodeId: nodes[i]!, log: quietLog,
        addr: i === 0 ? lab.hostAddr : lab.clientAddr, hostname: `host${i}`, backoff: { baseMs: 20, maxMs: 200 },
      }));
    }
    const stateOf = (id: string) => store.view((tx) => tx.get('tasks', id)?.Status.State);
    await until('both tasks running', () => stateOf(t1.ID) === 'running' && stateOf(t2.ID) === 'running', 60_000);
    const netnsOf = (i: number, taskId: string): string => {
      const c = (workers[i]!.executor as EngineExecutor).containerOf(taskId)!;
      return hosts[i]!.engine.networks.getAttachment(c.id)!.netnsPath!;
    };
    const nsA = netnsOf(0, t1.ID);
    const curl = (ns: string, url: string) => shAsync(['nsenter', `--net=${ns}`, 'curl', '-s', '--max-time', '3', url]);

    // the container on host A reaches the task on host B by its overlay address (VXLAN)
    let r2 = { code: -1, out: '' };
    await until('cross-host reach', async () => (r2 = await curl(nsA, `http://${sub}.12:8080/`)).code === 0, 30_000);
    assert.equal(r2.out, 'web.2\n');

    // the VIP spreads over the tasks on both hosts (the views carry both backends)
    const seen = new Set<string>();
    await until('VIP reaches both backends', async () => {
      const x = await curl(nsA, `http://${sub}.2:8080/`);
      if (x.code === 0) seen.add(x.out.trim());
      return seen.size === 2;
    }, 30_000);
    assert.deepEqual([...seen].sort(), ['web.1', 'web.2']);

    // swarm DNS: the service name is the VIP, tasks.web the task addresses
    const web = await nslookup(nsA, 'web');
    assert.deepEqual(nslookupAddresses(web.out), [`${sub}.2`], web.out);
    const tasks = await nslookup(nsA, 'tasks.web');
    assert.deepEqual(nslookupAddresses(tasks.out).sort(), [`${sub}.11`, `${sub}.12`], tasks.out);

    // the task on B is shut down: the VIP keeps only A's task
    await store.update((tx) => tx.update('tasks', { ...tx.get('tasks', t2.ID)!, DesiredState: 'shutdown' }));
    await until('task 2 shut down', () => stateOf(t2.ID) === 'shutdown', 30_000);
    await until('VIP without the stopped backend', async () => {
      const vips = hosts[0]!.engine.networks.inspect(netId) && (hosts[0]!.engine.networks as unknown as { resolveNetwork(id: string): { vips?: { backends: string[] }[] } }).resolveNetwork(netId).vips;
      return vips?.[0]?.backends.length === 1;
    }, 30_000);
    for (let i = 0; i < 6; i++) assert.equal((await curl(nsA, `http://${sub}.2:8080/`)).out, 'web.1\n');
  } finally {
    for (const w of workers) await w.stop();
    await dispatcher.stop();
    server.forceShutdown();
    store.close();
    for (const h of hosts) await h.cleanup();
    lab.cleanup();
  }
});
