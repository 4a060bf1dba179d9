/**
 * npm run bench:sched — (a) placement alone, in process: 100,000 tasks of one service onto 1,000 ready
 * nodes through the scheduler's pure core (filters once per batch, then the node heap), compared with
 * SwarmKit's published figure for the same shape (22.6 s). (a2) the leader loops with simulated agents
 * in process. (b) end to end over real gRPC + mTLS sessions: a manager (store, service loops,
 * Dispatcher, gRPC server) in this process and 1,000 simulated nodes (worker/agent + SimulatedExecutor)
 * in child processes, 10,000 replicas from create (REST) to all RUNNING. (c) 5,000 simulated nodes
 * connected and heartbeating at the default 5 s period: the leader process's CPU % and RSS.
 *
 * `node dist/test/bench/sched-bench.js [a] [a2] [b] [c]` runs only the named parts (default all).
 * The same file is the agents' child process (`--agents`).
 */
import { fork } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import Fastify from 'fastify';
import { schedule, type PendingTask, type SchedNode } from '../../manager/scheduler/index.js';
import { createKeyAndCSR, RootCA } from '../../manager/ca/index.js';
import { channelCredentials, serverCredentials } from '../../manager/ca/tls-credentials.js';
import { Dispatcher, dispatcherService } from '../../manager/dispatcher/index.js';
import { createStandaloneStore, defaultSwarmSpec, type Node, type ReplicatedStore } from '../../manager/store/index.js';
import { serviceLoops } from '../../manager/orchestrator/index.js';
import { serviceRoutes } from '../../manager/controlapi/service-routes.js';
import type { LeaderLoop } from '../../manager/node/leader-loop.js';

const SWARMKIT_S = 22.6;
const NODES = 1000;
const TASKS = 100_000;

function nodes(n: number): SchedNode[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `node${String(i).padStart(21, '0')}`,
    hostname: `host-${i}`,
    role: 'worker' as const,
    state: 'ready' as const,
    availability: 'active' as const,
    labels: { zone: `z${i % 3}` },
    engineLabels: {},
    addr: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    platform: { os: 'linux', architecture: 'x86_64' },
    resources: { nanoCPUs: 64e9, memoryBytes: 256 * 2 ** 30 },
  }));
}

function pending(n: number): PendingTask[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `task${String(i).padStart(21, '0')}`,
    serviceId: 'svc0000000000000000000001',
    groupKey: 'svc0000000000000000000001/1',
    constraints: ['node.platform.os==linux'],
    preferences: [],
    maxReplicasPerNode: 0,
    reservations: { nanoCPUs: 0, memoryBytes: 0 },
    platforms: [{ os: 'linux', architecture: 'amd64' }],
    hostPorts: [],
  }));
}

function benchPlacement(): void {
  const ns = nodes(NODES);
  const ts = pending(TASKS);
  schedule({ nodes: ns, placed: [], pending: ts.slice(0, 1000) }); // warm-up (JIT)
  const runs: number[] = [];
  let last = { assigned: [] as { nodeId: string }[], unschedulable: [] as unknown[] };
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    last = schedule({ nodes: ns, placed: [], pending: ts });
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const per = new Map<string, number>();
  for (const d of last.assigned) per.set(d.nodeId, (per.get(d.nodeId) ?? 0) + 1);
  const counts = [...per.values()];
  const best = Math.min(...runs);
  console.log(`(a) placement: ${TASKS} tasks onto ${NODES} nodes: ${best.toFixed(3)} s (best of ${runs.length}: ${runs.map((r) => r.toFixed(3)).join(', ')})`);
  console.log(`    placed ${last.assigned.length}, unschedulable ${last.unschedulable.length}, per node min ${Math.min(...counts)} max ${Math.max(...counts)}`);
  console.log(`    ratio to SwarmKit's published ${SWARMKIT_S} s: ${(best / SWARMKIT_S).toFixed(4)} (target <= 0.09)`);
}

/** (a2) the leader loops end to end in process: a standalone store, the service loops, simulated agents. */
async function benchLoopsInProcess(): Promise<void> {
  const { SimCluster } = await import('../integration/services/sim-cluster.js');
  const { validateServiceSpec } = await import('../../manager/controlapi/validate.js');
  for (const [nodeCount, replicas] of [
    [100, 1000],
    [1000, 10000],
  ] as const) {
    const c = new SimCluster();
    await c.start();
    for (let i = 0; i < nodeCount; i++) await c.addNode(`bnode${String(i).padStart(20, '0')}`);
    const t0 = process.hrtime.bigint();
    const spec = validateServiceSpec({ Name: `bench${nodeCount}`, TaskTemplate: { ContainerSpec: { Image: 'app:1' } }, Mode: { Replicated: { Replicas: replicas } } });
    const { result } = await c.store.update((tx) => tx.create('services', { ID: `benchsvc${String(nodeCount).padStart(17, '0')}`, Spec: spec }));
    await c.until('all running', () => c.running(result.ID).length === replicas, 600_000);
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`(a2) loops + simulated agents on a standalone store: ${replicas} replicas on ${nodeCount} nodes created → all running in ${sec.toFixed(2)} s`);
    await c.stop();
  }
}

// ---------------------------------------------------------------- (b) and (c): real gRPC sessions

const CLUSTER_ID = 'benchcluster0000000000001';
const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const AGENTS_PER_CHILD = 1000;

interface AgentsStart {
  type: 'start';
  caCertPem: string;
  caKeyPem: string;
  addr: string;
  ids: string[];
  stateRoot: string;
}

/** The child: signs its nodes' certificates, runs one Agent + SimulatedExecutor per node until told to stop. */
async function agentsChild(): Promise<void> {
  const { Agent } = await import('../../worker/agent/agent.js');
  const { SimulatedExecutor } = await import('../../worker/executor/simulated-executor.js');
  const agents: InstanceType<typeof Agent>[] = [];
  process.on('message', (m: AgentsStart | { type: 'stop' }) => {
    void (async () => {
      if (m.type === 'stop') {
        await Promise.all(agents.map((a) => a.stop()));
        process.send!({ type: 'stopped' }, () => process.exit(0));
        return;
      }
      const ca = await RootCA.load(m.caCertPem, m.caKeyPem);
      const t0 = Date.now();
      const loud = (tag: string) => (obj: unknown, msg?: string) => console.error(`[agent ${tag}] ${msg ?? ''} ${JSON.stringify(obj)}`);
      // one key pair per process (a CSR is only proof of the key: the CA sets each node's identity), one
      // certificate per node — thousands of ECDSA key generations would dominate the setup otherwise
      const { keyPem, csrPem } = await createKeyAndCSR();
      for (const [i, id] of m.ids.entries()) {
        const log = process.env.SHOAL_BENCH_DEBUG && i === 0 ? { info: loud('info'), warn: loud('warn'), error: loud('error'), debug: loud('debug') } : quiet;
        const certPem = await ca.signCSR(csrPem, { nodeId: id, role: 'worker', clusterId: CLUSTER_ID, now: new Date() });
        const ex = new SimulatedExecutor({ hostname: id });
        agents.push(
          new Agent({
            managers: [m.addr],
            credentials: channelCredentials({ keyPem, certPem }, m.caCertPem),
            nodeId: id,
            description: await ex.describe(),
            executor: ex,
            stateDir: join(m.stateRoot, id),
            now: Date.now,
            random: Math.random,
            log,
          }),
        );
      }
      const certMs = Date.now() - t0;
      // nodes join in waves, not as one thundering herd of TLS handshakes (SHOAL_BENCH_JOIN_PER_S per process)
      const perSecond = Number(process.env.SHOAL_BENCH_JOIN_PER_S ?? 500);
      const wave = Math.max(1, Math.round(perSecond / 10));
      for (let i = 0; i < agents.length; i += wave) {
        await Promise.all(agents.slice(i, i + wave).map((a) => a.start()));
        await new Promise((r) => setTimeout(r, 100));
      }
      process.send!({ type: 'started', certMs });
    })();
  });
  process.send!({ type: 'hello' });
}

interface BenchManager {
  store: ReplicatedStore;
  addr: string;
  api: ReturnType<typeof Fastify>;
  stop(): Promise<void>;
}

/** One manager in this process: standalone store, service loops, Dispatcher, gRPC server with mTLS. */
async function startManager(ca: RootCA, nodeIds: string[]): Promise<BenchManager> {
  const store = createStandaloneStore({ now: () => new Date().toISOString() });
  await store.update((tx) =>
    tx.create('clusters', { ID: CLUSTER_ID, Spec: defaultSwarmSpec(), JoinTokens: { Worker: '', Manager: '' }, RootCACert: ca.certPem, RootCADigest: ca.digest() }),
  );
  // the nodes as the join flow leaves them: known, certificate issued, not yet connected
  await store.batch(async (b) => {
    for (const id of nodeIds) {
      await b.update((tx) =>
        tx.create('nodes', {
          ID: id,
          Spec: { Role: 'worker', Availability: 'active', Labels: {} },
          Description: { Hostname: id, Platform: { Architecture: 'x86_64', OS: 'linux' }, Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 }, Engine: { EngineVersion: 'shoal-simulated' } },
          Status: { State: 'unknown', Addr: '' },
          Certificate: { Status: 'issued', Certificate: '' },
          Role: 'worker',
        } as Omit<Node, 'Meta'>),
      );
    }
  });
  const { keyPem, csrPem } = await createKeyAndCSR();
  const certPem = await ca.signCSR(csrPem, { nodeId: 'benchmanager', role: 'manager', clusterId: CLUSTER_ID, now: new Date() });
  const dispatcher = new Dispatcher();
  const server = new grpc.Server({ 'grpc.max_concurrent_streams': 100_000 });
  const svc = dispatcherService(dispatcher);
  server.addService(svc.definition, svc.implementation);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', serverCredentials({ keyPem, certPem }, ca.certPem), (e, p) => (e ? rej(e) : res(p))));
  const loops: LeaderLoop[] = [...serviceLoops(), dispatcher];
  // the leader's warnings and errors go to stderr (a dispatcher restart or a failing loop shows)
  const log = { ...quiet, warn: (o: unknown, m?: string) => console.error(`[leader warn] ${m ?? ''} ${JSON.stringify(o)}`), error: (o: unknown, m?: string) => console.error(`[leader error] ${m ?? ''} ${JSON.stringify(o)}`) };
  for (const l of loops) await l.start({ store, now: Date.now, random: Math.random, log, nodeId: 'benchmanager' });
  const api = Fastify({ logger: false });
  await api.register(serviceRoutes({ store }));
  return {
    store,
    addr: `127.0.0.1:${port}`,
    api,
    async stop() {
      for (const l of [...loops].reverse()) await l.stop();
      server.forceShutdown();
      await api.close();
      store.close();
    },
  };
}

/** Forks the agent children (AGENTS_PER_CHILD each) and starts them against `addr`. */
async function startAgents(ca: RootCA, addr: string, ids: string[], stateRoot: string): Promise<{ certMs: number; stop: () => Promise<void> }> {
  const file = fileURLToPath(import.meta.url);
  const children: { child: ReturnType<typeof fork>; ids: string[] }[] = [];
  for (let i = 0; i < ids.length; i += AGENTS_PER_CHILD) {
    const child = fork(file, ['--agents'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('agents child did not start within 60 s')), 60_000);
      child.once('message', () => {
        clearTimeout(timer);
        res();
      });
      child.once('exit', (code) => rej(new Error(`agents child exited with ${code} before starting`)));
    });
    children.push({ child, ids: ids.slice(i, i + AGENTS_PER_CHILD) });
  }
  const started = await Promise.all(
    children.map(
      ({ child, ids: part }) =>
        new Promise<number>((res, rej) => {
          child.once('message', (m: { type: string; certMs: number }) => res(m.certMs));
          child.once('exit', (code) => rej(new Error(`agents child exited with ${code}`)));
          child.send({ type: 'start', caCertPem: ca.certPem, caKeyPem: ca.keyPem, addr, ids: part, stateRoot } satisfies AgentsStart);
        }),
    ),
  );
  return {
    certMs: Math.max(...started),
    async stop() {
      await Promise.all(
        children.map(
          ({ child }) =>
            new Promise<void>((res) => {
              const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
              child.once('exit', () => {
                clearTimeout(timer);
                res();
              });
              child.removeAllListeners('message');
              child.send({ type: 'stop' });
            }),
        ),
      );
    },
  };
}

async function until(what: string, cond: () => boolean, limitMs: number, progress?: () => string): Promise<void> {
  const end = Date.now() + limitMs;
  let report = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    if (progress && Date.now() > report) {
      report = Date.now() + 30_000;
      console.log(`    … still waiting for ${what}: ${progress()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const readyCount = (store: ReplicatedStore): number => store.view((tx) => tx.find('nodes', { index: 'state', key: 'ready' }).length);
const nodeStates = (store: ReplicatedStore): string =>
  store.view((tx) => ['ready', 'down', 'disconnected', 'unknown'].map((st) => `${st} ${tx.find('nodes', { index: 'state', key: st }).length}`).join(', '));

function cpuSince(cpu0: NodeJS.CpuUsage, wall0: bigint): { pct: number; cpuS: number; wallS: number } {
  const c = process.cpuUsage(cpu0);
  const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpuS = (c.user + c.system) / 1e6;
  return { pct: (cpuS / wallS) * 100, cpuS, wallS };
}

/** Runs `fn` with a manager and `n` connected simulated nodes. */
async function withCluster(n: number, fn: (m: BenchManager) => Promise<void>): Promise<void> {
  const ca = await RootCA.create({ clusterId: CLUSTER_ID, now: new Date() });
  const ids = Array.from({ length: n }, (_, i) => `bnode${String(i).padStart(20, '0')}`);
  const m = await startManager(ca, ids);
  const stateRoot = join('/dev/shm', `shoal-sched-bench-${process.pid}-${n}`);
  await mkdir(stateRoot, { recursive: true });
  const t0 = Date.now();
  const agents = await startAgents(ca, m.addr, ids, stateRoot);
  try {
    await until(`${n} nodes ready`, () => readyCount(m.store) === n, 1_800_000, () => nodeStates(m.store));
    console.log(`    ${n} simulated nodes (${Math.ceil(n / AGENTS_PER_CHILD)} agent processes) connected over mTLS and ready ${((Date.now() - t0) / 1000).toFixed(1)} s after fork (certificates ${(agents.certMs / 1000).toFixed(1)} s of it)`);
    await fn(m);
  } finally {
    await agents.stop();
    await m.stop();
    await rm(stateRoot, { recursive: true, force: true });
  }
}

async function benchEndToEnd(nodes: number, replicas: number): Promise<void> {
  console.log(`(b) end to end over real gRPC + mTLS sessions: 1 manager (standalone store: CLUSTER's 3-manager Manager is not there yet), ${nodes} simulated nodes, ${replicas} replicas`);
  await withCluster(nodes, async (m) => {
    const cpu0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    const res = await m.api.inject({
      method: 'POST',
      url: '/services/create',
      payload: { Name: 'benchweb', TaskTemplate: { ContainerSpec: { Image: 'app:1' } }, Mode: { Replicated: { Replicas: replicas } } },
    });
    if (res.statusCode !== 201) throw new Error(`service create: ${res.statusCode} ${res.body}`);
    await until(`${replicas} running`, () => m.store.view((tx) => tx.find('tasks', { index: 'state', key: 'running' }).length) >= replicas, 600_000);
    const u = cpuSince(cpu0, w0);
    const perNode = m.store.view((tx) => {
      const c = new Map<string, number>();
      for (const t of tx.find('tasks', { index: 'state', key: 'running' })) c.set(t.NodeID, (c.get(t.NodeID) ?? 0) + 1);
      return [...c.values()];
    });
    console.log(`(b) ${replicas} replicas on ${nodes} nodes: create → all RUNNING in ${u.wallS.toFixed(2)} s (leader process CPU ${u.pct.toFixed(0)}% of one core meanwhile; per node min ${Math.min(...perNode)} max ${Math.max(...perNode)})`);
  });
}

async function benchHeartbeats(nodes: number, windowMs: number): Promise<void> {
  console.log(`(c) ${nodes} simulated nodes connected and heartbeating (default period 5 s), 1 manager (standalone store)`);
  await withCluster(nodes, async (m) => {
    await new Promise((r) => setTimeout(r, 5_000)); // one period for sessions to settle
    const cpu0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 500);
    await new Promise((r) => setTimeout(r, windowMs));
    clearInterval(sampler);
    const u = cpuSince(cpu0, w0);
    const ready = readyCount(m.store);
    const rss = process.memoryUsage().rss;
    console.log(`(c) leader CPU: ${u.pct.toFixed(1)}% of one core over ${u.wallS.toFixed(0)} s (${u.cpuS.toFixed(2)} s CPU); RSS ${(rss / 2 ** 20).toFixed(0)} MiB (max ${(Math.max(rssMax, rss) / 2 ** 20).toFixed(0)} MiB); nodes still ready ${ready}/${nodes}`);
  });
}

if (process.argv.includes('--agents')) {
  await agentsChild();
} else {
  const parts = process.argv.slice(2).filter((a) => /^(a|a2|b|c)$/.test(a));
  const want = (p: string) => parts.length === 0 || parts.includes(p);
  if (want('a')) benchPlacement();
  if (want('a2')) await benchLoopsInProcess();
  if (want('b')) await benchEndToEnd(Number(process.env.SHOAL_BENCH_NODES ?? 1000), Number(process.env.SHOAL_BENCH_REPLICAS ?? 10_000));
  if (want('c')) await benchHeartbeats(Number(process.env.SHOAL_BENCH_HB_NODES ?? 5000), Number(process.env.SHOAL_BENCH_WINDOW_MS ?? 30_000));
  process.exit(0);
}
