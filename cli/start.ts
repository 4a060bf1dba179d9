// `npm start` / `npm run down`: the local multi-host cluster as a real swarm. Hosts are network
// namespaces on a private bridge (deploy/cluster/hosts.ts), each running its own shoald; host 1 inits
// the swarm, hosts 2…M join as managers, the rest as workers; busybox is loaded on every host and a
// demo service (2 HTTP servers per host on an overlay network, published on :8080 of every host through
// the routing mesh) is deployed across them. Then it
// prints how to use it. A second `npm start` reuses what is up; `down` removes everything.
//
//   SHOAL_LAB_HOSTS (default 5), SHOAL_LAB_MANAGERS (default 3), SHOAL_LAB_NAME (demo),
//   SHOAL_LAB_ROOT (/var/lib/shoal-lab)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freemem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, apiOk } from '../deploy/cluster/api-client.js';
import { cleanupEngine, enginePid, logFile, stopEngine } from '../deploy/cluster/engines.js';
import { downHosts, readLab, upHosts, type Lab, type LabHost } from '../deploy/cluster/hosts.js';
import { busyboxTar, ensureBusybox, formSwarm, startSwarmHost, waitNodesReady } from '../deploy/cluster/swarm.js';
import { sweepHost } from '../deploy/cluster/sweep.js';

const LAB = process.env['SHOAL_LAB_NAME'] ?? 'demo';
const STATE_ROOT = process.env['SHOAL_LAB_ROOT'] ?? '/var/lib/shoal-lab';
const DEMO = 'demo';
const DEMO_PORT = 8080;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function say(s: string): void {
  process.stdout.write(`${s}\n`);
}

/** 5 hosts unless the machine is short of memory (a host's shoald takes ~150 MB), then 3. */
function hostCount(): { hosts: number; why: string } {
  const env = process.env['SHOAL_LAB_HOSTS'];
  if (env !== undefined) return { hosts: Number(env), why: 'SHOAL_LAB_HOSTS' };
  const freeMiB = Math.floor(freemem() / 2 ** 20);
  return freeMiB >= 2048 ? { hosts: 5, why: `${freeMiB} MiB free` } : { hosts: 3, why: `only ${freeMiB} MiB free` };
}

function sec(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

interface TaskRow {
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  Status?: { State?: string };
}

const DEMO_NET = 'demo-net';

async function ensureDemoNetwork(manager: LabHost): Promise<void> {
  // asked of the swarm (a node's engine may still hold a copy of a network the swarm removed)
  const filters = encodeURIComponent(JSON.stringify({ name: { [DEMO_NET]: true }, scope: { swarm: true } }));
  const list = JSON.parse(await apiOk(manager.socket, 'GET', `/networks?filters=${filters}`, undefined, { timeoutMs: 10_000 })) as { Name: string }[];
  if (list.some((n) => n.Name === DEMO_NET)) return;
  const r = await api(manager.socket, 'POST', '/networks/create', { Name: DEMO_NET, Driver: 'overlay', CheckDuplicate: true }, { timeoutMs: 30_000 });
  if (r.status >= 400 && r.status !== 409) throw new Error(`creating the overlay network ${DEMO_NET}: ${r.body}`);
}

/** The demo: `replicas` busybox httpd tasks on an overlay network, published on :8080 of every host through the routing mesh. */
function demoSpec(replicas: number): Record<string, unknown> {
  const page = 'hello from task $HOSTNAME of service demo';
  return {
    Name: DEMO,
    TaskTemplate: {
      ContainerSpec: {
        Image: 'busybox:latest',
        Command: ['sh', '-c', `mkdir -p /www && echo "${page}" > /www/index.html && echo "serving on :80" && exec httpd -f -vv -p 80 -h /www`],
        StopGracePeriod: 2_000_000_000,
      },
      RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      Networks: [{ Target: DEMO_NET }],
    },
    Mode: { Replicated: { Replicas: replicas } },
    EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: DEMO_PORT, PublishMode: 'ingress' }] },
  };
}

async function ensureDemo(manager: LabHost, replicas: number): Promise<'created' | 'kept' | 'updated'> {
  await ensureDemoNetwork(manager);
  const r = await api(manager.socket, 'GET', `/services/${DEMO}`, undefined, { timeoutMs: 10_000 });
  if (r.status === 200) {
    const svc = JSON.parse(r.body) as {
      ID: string;
      Version: { Index: number };
      Spec: { Mode?: { Replicated?: { Replicas?: number } }; EndpointSpec?: { Ports?: { PublishMode?: string }[] } };
    };
    const current = svc.Spec.Mode?.Replicated?.Replicas === replicas && svc.Spec.EndpointSpec?.Ports?.[0]?.PublishMode === 'ingress';
    if (current) return 'kept';
    // an earlier demo (another size, or host-mode ports): replaced, since ports and networks change
    await apiOk(manager.socket, 'DELETE', `/services/${svc.ID}`, undefined, { timeoutMs: 30_000 });
    await new Promise((res) => setTimeout(res, 3000));
    await apiOk(manager.socket, 'POST', '/services/create', demoSpec(replicas), { timeoutMs: 30_000 });
    return 'updated';
  }
  await apiOk(manager.socket, 'POST', '/services/create', demoSpec(replicas), { timeoutMs: 30_000 });
  return 'created';
}

async function waitRunning(manager: LabHost, service: string, replicas: number, limitMs: number): Promise<TaskRow[]> {
  const end = Date.now() + limitMs;
  const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true }, 'desired-state': { running: true } }));
  let running: TaskRow[] = [];
  while (Date.now() < end) {
    const r = await api(manager.socket, 'GET', `/tasks?filters=${filters}`, undefined, { timeoutMs: 10_000 }).catch(() => undefined);
    if (r?.status === 200) {
      running = (JSON.parse(r.body) as TaskRow[]).filter((t) => t.Status?.State === 'running');
      if (running.length >= replicas) return running;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${service}: only ${running.length} of ${replicas} tasks running after ${sec(limitMs)} (see ${logFile(manager)})`);
}

function fetchFrom(from: LabHost, url: string): string {
  const r = spawnSync('nsenter', [`--net=${from.netnsPath}`, 'curl', '-sS', '-m', '3', url], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : `(failed: ${r.stderr.trim()})`;
}

function docker(h: LabHost, args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DOCKER_HOST: `unix://${h.socket}` } });
  return r.status === 0 ? r.stdout.trimEnd() : `(docker ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()})`;
}

async function up(): Promise<void> {
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'shoald.js'))) {
    throw new Error('dist/cli/shoald.js is missing: run `npm run build` first (npm start does it)');
  }
  const t0 = Date.now();
  const { hosts, why } = hostCount();
  const managers = Math.min(Number(process.env['SHOAL_LAB_MANAGERS'] ?? '3'), hosts);
  say(`shoal: the local cluster "${LAB}": ${hosts} hosts (${why}), ${managers} managers + ${hosts - managers} workers, state under ${STATE_ROOT}/${LAB}`);
  const lab = await upHosts({ name: LAB, hosts, stateRoot: STATE_ROOT });
  const bb = busyboxTar();
  try {
    await Promise.all(
      lab.hosts.map(async (h) => {
        const reused = enginePid(h) !== undefined;
        await startSwarmHost(h).catch(async (e: unknown) => {
          // once more: a daemon that died at start (e.g. dist/ rebuilt under it) gets a second chance
          say(`  ${h.name}: ${(e as Error).message.split('\n')[0]} — starting it again`);
          await startSwarmHost(h);
        });
        const loaded = await ensureBusybox(h, bb.get);
        say(`  ${h.name}  ${h.addr}  shoald ${reused ? 'already running' : 'started'}${loaded ? ', busybox loaded' : ''}  (log: ${logFile(h)})`);
      }),
    );
  } finally {
    bb.cleanup();
  }
  const tHosts = Date.now();
  const formed = await formSwarm(lab, managers);
  for (const h of lab.hosts) say(`  ${h.name}  ${formed.actions.get(h.name) ?? ''}`);
  const first = lab.hosts[0]!;
  await waitNodesReady(first, hosts);
  const tSwarm = Date.now();
  const replicas = 2 * hosts;
  const what = await ensureDemo(first, replicas);
  const tasks = await waitRunning(first, DEMO, replicas, 120_000);
  const tDemo = Date.now();
  say(`  service ${DEMO}: ${what}, ${tasks.length} replicas running on ${new Set(tasks.map((t) => t.NodeID)).size} hosts`);
  say(`shoal: up in ${sec(tDemo - t0)} (hosts and daemons ${sec(tHosts - t0)}, swarm ${sec(tSwarm - tHosts)}, demo service ${sec(tDemo - tSwarm)})`);
  printUsage(lab);
}

function printUsage(lab: Lab): void {
  const [h1, h2] = [lab.hosts[0]!, lab.hosts[1] ?? lab.hosts[0]!];
  const env = `DOCKER_HOST=unix://${h1.socket}`;
  say('');
  say(`$ ${env} docker node ls`);
  say(docker(h1, ['node', 'ls']));
  say('');
  say(`$ ${env} docker service ps ${DEMO}`);
  say(docker(h1, ['service', 'ps', DEMO]));
  say('');
  say(`The demo answers on port ${DEMO_PORT} of every host (the routing mesh sends each connection to a task`);
  say(`anywhere in the swarm over the overlay). From ${h2.name}:`);
  for (const h of lab.hosts.filter((x) => x !== h2).slice(0, 3)) {
    say(`  $ nsenter --net=${h2.netnsPath} curl -s http://${h.addr}:${DEMO_PORT}/`);
    say(`  ${fetchFrom(h2, `http://${h.addr}:${DEMO_PORT}/`)}`);
  }
  say('');
  say('Point the docker CLI (or shoal) at any host — managers take swarm commands, every host runs containers:');
  for (const h of lab.hosts) say(`  export DOCKER_HOST=unix://${h.socket}   # ${h.name} ${h.addr}`);
  say(`  docker service create --name web --replicas 6 busybox httpd -f -p 80     # or: node dist/cli/shoal.js service create …`);
  say(`  docker service ps web; docker service logs ${DEMO}; docker service scale web=20; docker ps`);
  say('');
  say('Remove everything: npm run down');
}

async function down(): Promise<void> {
  const t0 = Date.now();
  const lab = readLab(STATE_ROOT, LAB);
  if (lab) {
    // daemons first (no agent restarts a task we remove), then each engine's own cleanup, then the sweep
    await Promise.all(lab.hosts.map((h) => stopEngine(h)));
    await Promise.all(
      lab.hosts.map(async (h) => {
        if (existsSync(h.netnsPath) && existsSync(h.dataRoot)) {
          const problem = await cleanupEngine(h);
          if (problem) say(`  ${problem}`);
        }
        await sweepHost(h);
      }),
    );
  }
  await downHosts(STATE_ROOT, LAB, { purge: true });
  say(`shoal: the local cluster "${LAB}" is down in ${sec(Date.now() - t0)}; nothing of it is left.`);
}

const cmd = process.argv[2] ?? 'up';
const run = cmd === 'down' ? down : cmd === 'up' ? up : undefined;
if (!run) {
  process.stderr.write(`usage: start.js [up|down] (got ${cmd})\n`);
  process.exit(2);
}
run().catch((e: unknown) => {
  process.stderr.write(`shoal: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
