#!/usr/bin/env node
/**
 * shoald: one per host. The engine with its Docker-shaped REST API on a unix socket, and the swarm
 * roles: in no swarm until `swarm init`/`swarm join`; then the worker role (agent) always and the
 * manager role (Raft, store, leader loops, gRPC on --listen-addr) while the node is a manager. A restart
 * resumes the swarm role from --data-root. On SIGTERM/SIGINT it closes its listeners and exits, leaving
 * containers running under their monitors.
 */
import { mkdir, rm } from 'node:fs/promises';
import { cpus, hostname, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { Command, InvalidArgumentError, Option } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { pino } from 'pino';
import { controlGateway } from '../manager/controlapi/control-gateway.js';
import { networkGateway } from '../manager/controlapi/network-gateway.js';
import { swarmLifecycleRoutes } from '../manager/controlapi/swarm-lifecycle-routes.js';
import { parseHostPort } from '../manager/node/addresses.js';
import { SwarmNode } from '../manager/node/swarm-node.js';
import type { NodeDescription } from '../manager/store/index.js';
import { buildApi, listenUnix } from '../worker/engine/api/server.js';
import { insecureRegistryProblem } from '../worker/engine/image/registry-client.js';
import { Engine } from '../worker/engine/engine.js';
import { EngineExecutor, SimulatedExecutor, type Executor } from '../worker/executor/index.js';
import { PeerWiring } from '../worker/peer-wiring.js';
import { lockDataRoot, type DataRootLock } from './data-root-lock.js';
import { DEFAULT_HOST, socketPathOf } from './host-address.js';

interface DaemonFlags {
  dataRoot: string;
  execRoot: string;
  host: string;
  runtime?: 'crun' | 'runc';
  prefix: string;
  mtu?: number;
  logLevel: string;
  bridgeSubnet?: string;
  cleanup?: boolean;
  listenAddr?: string;
  advertiseAddr?: string;
  hostname?: string;
  raftTickMs?: number;
  rolePollMs?: number;
  statusPeriodMs?: number;
  metricsAddr?: string;
  insecureRegistry: string[];
  executor: 'engine' | 'sim';
}

function insecureRegistryArg(v: string, previous: string[]): string[] {
  const problem = insecureRegistryProblem(v);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return [...previous, v];
}

function msArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 600_000) throw new InvalidArgumentError('expected milliseconds between 1 and 600000');
  return n;
}

/**
 * Prometheus metrics on host:port (GET /metrics): the process's own, and while this node is a manager
 * its Raft (term, leader, commit/applied index, proposal latency) and store/dispatcher gauges.
 */
async function serveMetrics(addr: string, swarmMetrics: () => Registry | undefined): Promise<Server> {
  const base = new Registry();
  collectDefaultMetrics({ register: base, prefix: 'shoald_' });
  const hp = parseHostPort(addr, '--metrics-addr', 9323);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const regs = [base, swarmMetrics()].filter((r): r is Registry => r !== undefined);
    Registry.merge(regs).metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': base.contentType }).end(text),
      (e: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${(e as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(hp.port, hp.host, () => resolve());
  });
  return server;
}

function addrArg(v: string): string {
  try {
    parseHostPort(v, 'address', 2377);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
}

function intArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 576 || n > 65535) throw new InvalidArgumentError('expected an MTU between 576 and 65535');
  return n;
}

function runtimeArg(v: string): 'crun' | 'runc' {
  if (v !== 'crun' && v !== 'runc') throw new InvalidArgumentError('expected crun or runc');
  return v;
}

export async function runDaemon(flags: DaemonFlags): Promise<void> {
  const log = pino({ level: flags.logLevel, base: { pid: process.pid, prefix: flags.prefix } });
  const socket = socketPathOf(flags.host);
  await mkdir(flags.dataRoot, { recursive: true });
  let lock: DataRootLock;
  try {
    lock = await lockDataRoot(flags.dataRoot);
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'cannot start');
    process.stderr.write(`shoald: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let engine: Engine;
  try {
    engine = await Engine.open({
      dataRoot: flags.dataRoot,
      execRoot: flags.execRoot,
      prefix: flags.prefix,
      ...(flags.runtime ? { runtime: flags.runtime } : {}),
      ...(flags.mtu !== undefined ? { mtu: flags.mtu } : {}),
      ...(flags.bridgeSubnet ? { defaultBridgeSubnet: flags.bridgeSubnet } : {}),
      logger: log,
    });
  } catch (e) {
    log.fatal({ err: (e as Error).message }, 'engine failed to open');
    process.stderr.write(`shoald: ${(e as Error).message}\n`);
    await lock.release();
    process.exit(1);
  }
  if (flags.cleanup) {
    await engine.destroy().catch((e: unknown) => log.error({ err: (e as Error).message }, 'cleanup failed'));
    await lock.release();
    log.info({}, 'removed every container, network, namespace and rule of this engine');
    return;
  }
  const nodeHostname = flags.hostname ?? hostname();
  const engineVersion = engine.apiDeps().info.version;
  const describe = async (): Promise<NodeDescription> => ({
    Hostname: nodeHostname,
    Platform: { Architecture: process.arch === 'x64' ? 'x86_64' : process.arch, OS: 'linux' },
    Resources: { NanoCPUs: cpus().length * 1e9, MemoryBytes: totalmem() },
    Engine: { EngineVersion: engineVersion, Labels: await peers.engineLabels(), Plugins: [{ Type: 'Network', Name: 'bridge' }, { Type: 'Network', Name: 'overlay' }, { Type: 'Volume', Name: 'local' }] },
  });
  // tasks run as containers on this engine (--executor sim: simulated, for control-plane tests); images a
  // node lacks come from its registry, else from the other nodes (peer-wiring.ts)
  let swarmRef: SwarmNode | undefined;
  const peers = new PeerWiring({
    images: engine.images,
    identity: () => swarmRef?.identity(),
    nodes: () => swarmRef?.managerRole?.store.view((tx) => tx.find('nodes')),
    log,
  });
  const executor: Executor =
    flags.executor === 'sim'
      ? new SimulatedExecutor({ hostname: nodeHostname })
      : new EngineExecutor({ engine, log, hostname: nodeHostname, peers: () => peers.peers() });
  const swarm = new SwarmNode({
    dir: join(flags.dataRoot, 'swarm'),
    ...(flags.listenAddr ? { listenAddr: flags.listenAddr } : {}),
    ...(flags.advertiseAddr ? { advertiseAddr: flags.advertiseAddr } : {}),
    executor,
    describe,
    log,
    timing: {
      ...(flags.raftTickMs ? { tickMs: flags.raftTickMs } : {}),
      ...(flags.statusPeriodMs ? { statusPeriodMs: flags.statusPeriodMs } : {}),
    },
    ...(flags.rolePollMs ? { rolePollMs: flags.rolePollMs } : {}),
  });
  swarmRef = swarm;
  await swarm.start().catch((e: unknown) => log.error({ err: (e as Error).message }, 'swarm state could not be resumed'));
  const deps = { ...engine.apiDeps(), swarm: { swarmInfo: () => swarm.swarmInfo() }, insecureRegistries: flags.insecureRegistry };
  const app = buildApi(deps, { log, plugins: [swarmLifecycleRoutes(swarm), controlGateway({ target: () => swarm.controlTarget() }), networkGateway({ target: () => swarm.controlTarget() })] });
  await mkdir(dirname(socket), { recursive: true });
  await rm(socket, { force: true });
  try {
    await listenUnix(app, socket);
  } catch (e) {
    log.fatal({ err: (e as Error).message, socket }, 'cannot listen');
    process.stderr.write(`shoald: cannot listen on ${socket}: ${(e as Error).message}\n`);
    await swarm.stop();
    await engine.close();
    await lock.release();
    process.exit(1);
  }
  log.info({ socket, dataRoot: flags.dataRoot, execRoot: flags.execRoot }, 'API listening');
  let metrics: Server | undefined;
  if (flags.metricsAddr) {
    try {
      metrics = await serveMetrics(flags.metricsAddr, () => swarm.metrics());
      log.info({ addr: flags.metricsAddr }, 'metrics listening');
    } catch (e) {
      log.error({ err: (e as Error).message, addr: flags.metricsAddr }, 'cannot serve metrics');
    }
  }
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'shutting down (containers keep running)');
    const hard = setTimeout(() => process.exit(1), 10_000);
    hard.unref();
    void (async () => {
      engine.events.close();
      await app.close().catch(() => undefined);
      metrics?.close();
      await swarm.stop().catch(() => undefined);
      await peers.close().catch(() => undefined);
      await engine.close().catch(() => undefined);
      await rm(socket, { force: true });
      await lock.release();
      log.info({}, 'stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function daemonCommand(): Command {
  return new Command('shoald')
    .description('shoal engine daemon: the Docker-shaped REST API on a unix socket')
    .option('--data-root <dir>', 'persistent state', '/var/lib/shoal')
    .option('--exec-root <dir>', 'runtime state', '/run/shoal')
    .option('-H, --host <addr>', 'socket to serve', DEFAULT_HOST)
    .option('--runtime <name>', 'OCI runtime (crun or runc; default: probe)', runtimeArg)
    .option('--prefix <p>', 'per-engine prefix of kernel object names', 'sh')
    .option('--mtu <n>', 'MTU of bridges and veths', intArg)
    .option('--bridge-subnet <cidr>', 'subnet of the default bridge network')
    .option('--log-level <level>', 'pino level', 'info')
    .option('--cleanup', 'remove every container, network, namespace and NAT rule of this engine, then exit')
    .option('--listen-addr <addr>', 'swarm listen address host[:port] used when swarm init/join leaves it to the default (0.0.0.0:2377)', addrArg)
    .option('--advertise-addr <addr>', 'swarm advertise address ip[:port] used when swarm init/join gives none', addrArg)
    .option('--hostname <name>', 'the node hostname the swarm shows (default: the host name)')
    .option('--metrics-addr <addr>', 'serve Prometheus metrics on host:port (GET /metrics)', addrArg)
    .option('--insecure-registry <host>', 'a registry spoken to in plain HTTP besides loopback: host[:port] or an IPv4 CIDR (repeatable)', insecureRegistryArg, [])
    .addOption(new Option('--executor <kind>', 'how tasks run: engine (containers) or sim (simulated, for control-plane tests)').choices(['engine', 'sim']).default('engine').hideHelp())
    .addOption(new Option('--raft-tick-ms <ms>', 'raft tick (default 100)').argParser(msArg).hideHelp())
    .addOption(new Option('--role-poll-ms <ms>', 'how often the node asks for its role (default 3000)').argParser(msArg).hideHelp())
    .addOption(new Option('--status-period-ms <ms>', 'how often the leader refreshes manager reachability (default 1000)').argParser(msArg).hideHelp())
    .action(async (flags: DaemonFlags) => {
      await runDaemon(flags);
    });
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  daemonCommand()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      process.stderr.write(`shoald: ${(e as Error).message}\n`);
      process.exit(1);
    });
}
