// docker service logs' path with real parts: two "hosts" (netns) with an Engine and a worker each, a
// Dispatcher over gRPC + mTLS; the tasks of a service write to stdout and stderr. The leader's LogBroker
// gathers every task's lines from both hosts tagged with service, node and task; tail, stream choice and
// task selectors apply; following over SubscribeLogs from another manager (managerLogBroker while not
// leading) streams new lines until the reader stops; a worker certificate may not subscribe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR, type NodeRole } from '../../../manager/ca/identity.js';
import { channelCredentials, serverCredentials, type TlsIdentity } from '../../../manager/ca/tls-credentials.js';
import { Dispatcher, type LogLine, dispatcherService, managerLogBroker, remoteLogBroker } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, type Task } from '../../../manager/store/index.js';
import { startWorker, type WorkerHandle } from '../../../worker/agent/index.js';
import { makeLab } from '../network/netns-harness.js';
import { addNodes, quietLog, taskObject } from '../../unit/dispatcher/fixtures.js';
import { openEngineHost, until, type EngineHost } from './executor-fixture.js';

const CLUSTER = 'testcluster';

async function cert(ca: RootCA, nodeId: string, role: NodeRole): Promise<TlsIdentity> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role, clusterId: CLUSTER, now: new Date() }) };
}

async function collect(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

const text = (ls: LogLine[]): string[] => ls.map((l) => `${l.context.nodeId.slice(0, 5)} ${l.stream} ${l.data.toString().trim()}`);

test('service logs: every task\'s lines from both hosts, tagged; tail, streams, task selector; following from another manager until the reader stops', async () => {
  const lab = makeLab();
  const hosts: EngineHost[] = [];
  const workers: WorkerHandle[] = [];
  const ca = await RootCA.create({ clusterId: CLUSTER, now: new Date() });
  const store = createStandaloneStore({ now: () => new Date().toISOString() });
  const dispatcher = new Dispatcher({ heartbeatPeriodMs: 2000, batchMs: 10 });
  const server = new grpc.Server();
  try {
    hosts.push(await openEngineHost({ lab }));
    hosts.push(await openEngineHost({ lab, hostNs: lab.clientNs, prefix: `u${lab.prefix.slice(1)}` }));
    const svc = dispatcherService(dispatcher);
    server.addService(svc.definition, svc.implementation);
    const managerId = await cert(ca, 'manager1', 'manager');
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', serverCredentials(managerId, ca.certPem), (e, p) => (e ? rej(e) : res(p))));
    const addr = `127.0.0.1:${port}`;
    dispatcher.start({ store, now: Date.now, random: Math.random, log: quietLog, nodeId: 'manager1' });
    const nodes = ['nodea00000000000000000001', 'nodeb00000000000000000001'];
    await addNodes(store, nodes);
    const svcId = 'svclogs000000000000000001';
    const mk = (slot: number, node: string): Omit<Task, 'Meta'> => {
      const t = taskObject({ nodeId: node, service: 'web', slot });
      return {
        ...t,
        ServiceID: svcId,
        Spec: {
          ContainerSpec: {
            Image: 'busybox',
            Command: ['sh', '-c', `echo "start web.${slot}"; echo "warn web.${slot}" >&2; i=0; while :; do i=$((i+1)); echo "tick web.${slot} $i"; sleep 0.2; done`],
            StopGracePeriod: 0,
          },
        },
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
      workers.push(await startWorker({ engine: hosts[i]!.engine, dataDir: hosts[i]!.dataRoot, managers: [addr], credentials, nodeId: nodes[i]!, log: quietLog, backoff: { baseMs: 20, maxMs: 200 } }));
    }
    const stateOf = (id: string) => store.view((tx) => tx.get('tasks', id)?.Status.State);
    await until('both tasks running', () => stateOf(t1.ID) === 'running' && stateOf(t2.ID) === 'running', 60_000);

    // everything so far, from both hosts (the stream ends by itself: not following)
    let all: LogLine[] = [];
    await until('both tasks have ticked', async () => {
      all = await collect(dispatcher.subscribe({ serviceIds: [svcId] }, {}));
      return text(all).some((l) => l.includes('tick web.1')) && text(all).some((l) => l.includes('tick web.2'));
    });
    const lines = text(all);
    assert.ok(lines.includes('nodea stdout start web.1'), lines.join('\n'));
    assert.ok(lines.includes('nodeb stdout start web.2'), lines.join('\n'));
    assert.ok(lines.includes('nodea stderr warn web.1'));
    assert.ok(lines.includes('nodeb stderr warn web.2'));
    for (const l of all) {
      assert.equal(l.context.serviceId, svcId);
      assert.equal(l.context.taskId, l.context.nodeId === nodes[0] ? t1.ID : t2.ID);
      assert.match(l.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    }

    // tail 1 per task; stdout only; one task by ID
    const tail = await collect(dispatcher.subscribe({ serviceIds: [svcId] }, { tail: 1 }));
    assert.deepEqual(tail.map((l) => l.context.taskId).sort(), [t1.ID, t2.ID].sort());
    const out = await collect(dispatcher.subscribe({ serviceIds: [svcId] }, { stderr: false, stdout: true }));
    assert.ok(out.length > 0 && out.every((l) => l.stream === 'stdout'));
    const one = await collect(dispatcher.subscribe({ taskIds: [t2.ID] }, { tail: 3 }));
    assert.equal(one.length, 3);
    assert.ok(one.every((l) => l.context.taskId === t2.ID && l.context.nodeId === nodes[1]));

    // another manager (not leading: its dispatcher does not run) follows through the leader
    const follower = new Dispatcher();
    const broker = managerLogBroker({ dispatcher: follower, leaderAddr: () => addr, credentials: channelCredentials(await cert(ca, 'manager2', 'manager'), ca.certPem) });
    const abort = new AbortController();
    const seen = new Map<string, number>();
    const following = (async () => {
      for await (const l of broker.subscribe({ serviceIds: [svcId] }, { follow: true, tail: 0 }, abort.signal)) {
        const m = /tick (web\.\d) (\d+)/.exec(l.data.toString());
        if (m) seen.set(m[1]!, Number(m[2]));
      }
    })();
    const before = Math.max(...text(all).map((l) => Number(/tick web\.\d (\d+)/.exec(l)?.[1] ?? 0)));
    await until('new lines from both hosts arrive while following', () => (seen.get('web.1') ?? 0) > before && (seen.get('web.2') ?? 0) > before, 30_000);
    abort.abort();
    await following;
    await until('the agents were told to stop', () => workers.every((w) => (w.agent as unknown as { publishers: Map<string, unknown> }).publishers.size === 0), 10_000);

    // a worker may not subscribe
    const asWorker = remoteLogBroker({ leaderAddr: () => addr, credentials: channelCredentials(await cert(ca, 'nodec00000000000000000001', 'worker'), ca.certPem) });
    await assert.rejects(collect(asWorker.subscribe({ serviceIds: [svcId] }, {})), (e: { code?: number }) => e.code === grpc.status.PERMISSION_DENIED);
  } finally {
    for (const w of workers) await w.stop();
    await dispatcher.stop();
    server.forceShutdown();
    store.close();
    for (const h of hosts) await h.cleanup();
    lab.cleanup();
  }
});
