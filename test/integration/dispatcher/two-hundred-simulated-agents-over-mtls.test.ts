// Real gRPC with mutual TLS (certificates from manager/ca) against a standalone store: 200 simulated
// agents in one process open sessions, go ready, receive their tasks and report them running; a
// desired-state change reaches the agent and comes back as "shutdown"; a killed agent's node is down
// after its heartbeats stop; a follower sends agents to the leader; a certificate of a node not in
// the store is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RootCA } from '../../../manager/ca/root-ca.js';
import { createKeyAndCSR, type NodeRole } from '../../../manager/ca/identity.js';
import { channelCredentials, serverCredentials, type TlsIdentity } from '../../../manager/ca/tls-credentials.js';
import { Dispatcher, dispatcherService } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, type ReplicatedStore } from '../../../manager/store/index.js';
import { Agent, DispatcherClient } from '../../../worker/agent/index.js';
import { SimulatedExecutor } from '../../../worker/executor/index.js';
import { addNodes, quietLog, taskObject } from '../../unit/dispatcher/fixtures.js';

const N = 200;
const PERIOD_MS = 2000;
const CLUSTER = 'testcluster';

async function cert(ca: RootCA, nodeId: string, role: NodeRole): Promise<TlsIdentity> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  return { keyPem, certPem: await ca.signCSR(csrPem, { nodeId, role, clusterId: CLUSTER, now: new Date() }) };
}

async function serve(ca: RootCA, id: TlsIdentity, d: Dispatcher): Promise<{ server: grpc.Server; addr: string }> {
  const server = new grpc.Server();
  const svc = dispatcherService(d);
  server.addService(svc.definition, svc.implementation);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(id, ca.certPem), (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, addr: `127.0.0.1:${port}` };
}

async function until(what: string, cond: () => boolean, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const nodeState = (store: ReplicatedStore, id: string) => store.view((tx) => tx.get('nodes', id)?.Status.State);

test(`${N} simulated agents over mTLS: ready, tasks running, shutdown delivered, a killed agent's node goes down, a follower redirects, an unknown node is refused`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-dispatch-'));
  const ca = await RootCA.create({ clusterId: CLUSTER, now: new Date() });
  const store = createStandaloneStore({ now: () => new Date().toISOString() });
  const ids = Array.from({ length: N }, (_, i) => `node${String(i).padStart(4, '0')}`);
  await addNodes(store, ids);
  await store.batch(async (b) => {
    for (const id of ids) await b.update((tx) => tx.create('tasks', taskObject({ nodeId: id, service: 'web' })));
  });
  const leaderD = new Dispatcher({ heartbeatPeriodMs: PERIOD_MS });
  const leader = await serve(ca, await cert(ca, 'manager1', 'manager'), leaderD);
  // a follower: its dispatcher is not running and names the leader
  const followerD = new Dispatcher({ heartbeatPeriodMs: PERIOD_MS, leaderAddr: () => leader.addr });
  const follower = await serve(ca, await cert(ca, 'manager2', 'manager'), followerD);
  leaderD.start({ store, now: Date.now, random: Math.random, log: quietLog, nodeId: 'manager1' });

  const agents: Agent[] = [];
  const executors: SimulatedExecutor[] = [];
  try {
    const t0 = Date.now();
    const certs = await Promise.all(ids.map((id) => cert(ca, id, 'worker')));
    const tCerts = Date.now();
    for (let i = 0; i < N; i++) {
      const ex = new SimulatedExecutor({ hostname: ids[i]! });
      executors.push(ex);
      agents.push(
        new Agent({
          // the first agent only knows the follower: it must end up on the leader
          managers: i === 0 ? [follower.addr] : [leader.addr, follower.addr],
          credentials: channelCredentials(certs[i]!, ca.certPem),
          nodeId: ids[i]!,
          description: await ex.describe(),
          executor: ex,
          stateDir: join(dir, ids[i]!),
          now: Date.now,
          random: Math.random,
          log: quietLog,
          backoff: { baseMs: 20, maxMs: 200 },
        }),
      );
    }
    const tStart = Date.now();
    await Promise.all(agents.map((a) => a.start()));
    await until('every node ready', () => ids.every((id) => nodeState(store, id) === 'ready'));
    const tReady = Date.now();
    await until('every task running', () => store.view((tx) => tx.find('tasks').every((t) => t.Status.State === 'running')));
    const tRunning = Date.now();
    assert.ok(agents[0]!.stats.redirects >= 1, 'the agent that only knew the follower was redirected');
    assert.equal(agents[0]!.connected, true);
    assert.equal(executors.reduce((s, e) => s + e.runningCount, 0), N, 'each simulated node runs its one task');

    // heartbeats keep everyone ready over several windows; measure the process CPU they cost
    const cpu0 = process.cpuUsage();
    const w0 = Date.now();
    await new Promise((r) => setTimeout(r, PERIOD_MS * 3));
    const cpu = process.cpuUsage(cpu0);
    const wall = Date.now() - w0;
    assert.ok(ids.every((id) => nodeState(store, id) === 'ready'), 'no node went down while its agent beats');
    const beats = agents.reduce((s, a) => s + a.stats.heartbeats, 0);
    const sessions = agents.reduce((s, a) => s + a.stats.sessions, 0);

    // a desired-state change reaches the agent, which reports shutdown
    const victimTask = store.view((tx) => tx.find('tasks', { index: 'node', key: ids[5]! })[0]!);
    await store.update((tx) => tx.update('tasks', { ...tx.get('tasks', victimTask.ID)!, DesiredState: 'shutdown' }));
    await until('task shut down by its agent', () => store.view((tx) => tx.get('tasks', victimTask.ID)!.Status.State === 'shutdown'));
    assert.equal(executors[5]!.runningCount, 0);

    // kill one agent: its node is disconnected, then down once 3 periods pass without heartbeats
    await agents[7]!.stop();
    await until('killed agent\'s node down', () => nodeState(store, ids[7]!) === 'down');
    assert.equal(store.view((tx) => tx.get('nodes', ids[7]!)!.Status.Message), 'heartbeat failure');
    assert.equal(nodeState(store, ids[8]!), 'ready');

    // a node whose certificate is valid but who is not in the store is refused
    const stranger = new DispatcherClient(leader.addr, channelCredentials(await cert(ca, 'stranger', 'worker'), ca.certPem));
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const s = stranger.session({});
      s.on('data', () => resolve(new Error('got a session') as grpc.ServiceError));
      s.on('error', (e: grpc.ServiceError) => resolve(e));
    });
    stranger.close();
    assert.equal(err.code, grpc.status.PERMISSION_DENIED, err.message);

    console.log(
      `# ${N} agents: certificates ${tCerts - t0} ms, all ready ${tReady - tStart} ms, all running ${tRunning - tStart} ms after start; ` +
        `sessions opened ${sessions} (${N} = no reconnects); heartbeats: ${beats} beats, process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms over ${wall} ms wall ` +
        `(${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(1)}% of one core at a ${PERIOD_MS} ms period)`,
    );
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await leaderD.stop();
    await followerD.stop();
    leader.server.forceShutdown();
    follower.server.forceShutdown();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
