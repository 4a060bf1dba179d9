/**
 * bench:converge — a service of 100 replicas (busybox sleep) from zero to all Running:
 *   (1) shoal on one host (the local cluster with 1 host, a manager),
 *   (2) shoal on 5 hosts (3 managers + 2 workers),
 *   (3) Docker swarm: Debian's dockerd, single node, in a network namespace of its own, started here
 *       with --iptables=false --bridge=none and its own data/exec roots, `swarm init` there; busybox
 *       handed over with docker save | docker load. Removed at the end, with what it left (processes
 *       under its roots, mounts, its cgroups, /etc/docker/key.json when it made it).
 * Each figure is the time from the create request to the moment the manager lists every task Running
 * (both polled the same way, /tasks every 100 ms). Ends with `converge ratio docker/shoal: R` (one host
 * each, the same machine; target ≥ 10).
 *
 *   npm run bench:converge [-- --replicas N --runs K]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, apiOk } from '../../deploy/cluster/api-client.js';
import { downHosts, upHosts, type LabHost } from '../../deploy/cluster/hosts.js';
import { MultihostLab, sleep } from '../e2e/multihost/multihost-lab.js';
import { DOCKER, run } from '../e2e/engine/shoald-harness.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer`);
  return v;
}

const REPLICAS = arg('replicas', 100);
/**
 * --docker-bridge own|none: `own` (default) lets dockerd make its docker0 inside its own namespace, so its
 * tasks get a veth on a bridge as shoal's do; `none` is --bridge=none (tasks get no network at all)
 */
const DOCKER_BRIDGE = process.argv.includes('--docker-bridge') ? process.argv[process.argv.indexOf('--docker-bridge') + 1] : 'own';
/** --only shoal1|shoal5|docker: one side alone (for looking into it) */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const RUNS = arg('runs', 3);
const POLL_MS = 100;
const nowMs = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface TaskRow {
  DesiredState: string;
  Status: { State: string; Err?: string };
}

/** Any engine API on a unix socket: create the service, poll its tasks until `n` run; the elapsed ms. */
async function converge(socket: string, name: string, n: number, limitMs = arg('limit-s', 300) * 1000): Promise<number> {
  const spec = {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['sleep', '1d'] }, RestartPolicy: { Condition: 'none' } },
    Mode: { Replicated: { Replicas: n } },
  };
  const filters = encodeURIComponent(JSON.stringify({ service: { [name]: true } }));
  const t0 = nowMs();
  await apiOk(socket, 'POST', '/services/create', spec, { timeoutMs: 60_000 });
  let running = 0;
  let failed = '';
  while (nowMs() - t0 < limitMs) {
    const r = await api(socket, 'GET', `/tasks?filters=${filters}`, undefined, { timeoutMs: 30_000 });
    if (r.status === 200) {
      const ts = JSON.parse(r.body) as TaskRow[];
      running = ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length;
      failed = ts.find((t) => ['failed', 'rejected'].includes(t.Status.State))?.Status.Err ?? failed;
      if (running >= n) return nowMs() - t0;
    }
    await sleep(POLL_MS);
  }
  const r = await api(socket, 'GET', `/tasks?filters=${filters}`, undefined, { timeoutMs: 30_000 }).catch(() => undefined);
  const states = new Map<string, number>();
  for (const t of r?.status === 200 ? (JSON.parse(r.body) as TaskRow[]) : []) states.set(`${t.DesiredState}/${t.Status.State}${t.Status.Err ? ` (${t.Status.Err})` : ''}`, (states.get(`${t.DesiredState}/${t.Status.State}${t.Status.Err ? ` (${t.Status.Err})` : ''}`) ?? 0) + 1);
  throw new Error(`${name}: ${running} of ${n} running after ${fmt(limitMs)}; tasks (desired/state): ${JSON.stringify([...states])}${failed ? ` (a task failed: ${failed})` : ''}`);
}

/** Removes the service and waits until no container of it is left on the given sockets. */
async function removeService(manager: string, engines: string[], name: string): Promise<void> {
  await apiOk(manager, 'DELETE', `/services/${name}`, undefined, { timeoutMs: 60_000 });
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.swarm.service.name=${name}`] }));
  for (const s of engines) {
    for (let i = 0; i < 1200; i++) {
      const r = await api(s, 'GET', `/containers/json?all=1&filters=${filters}`, undefined, { timeoutMs: 30_000 });
      if (r.status === 200 && (JSON.parse(r.body) as unknown[]).length === 0) break;
      await sleep(250);
    }
  }
}

/** One side of the comparison, up: where to send the create and whose containers to wait away. */
interface Side {
  label: string;
  manager: string;
  engines: string[];
  times: number[];
  close(): Promise<void>;
}

async function shoalSide(hosts: number, managers: number): Promise<{ side: Side; lab: MultihostLab }> {
  const t0 = nowMs();
  const lab = await MultihostLab.start({ hosts, managers });
  console.log(`  shoal: ${hosts} host${hosts > 1 ? 's' : ''} (${managers} manager${managers > 1 ? 's' : ''}) up in ${fmt(nowMs() - t0)}`);
  return {
    lab,
    side: {
      label: `shoal, ${hosts} host${hosts > 1 ? 's' : ''}`,
      manager: lab.host(1).socket,
      engines: lab.hosts.map((h) => h.socket),
      times: [],
      close: async () => {
        const left = await lab.cleanup();
        if (left.length) console.log(`  shoal lab left: ${left.join('; ')}`);
      },
    },
  };
}

// ---- Docker swarm on Debian's dockerd --------------------------------------------------------------

const KEY_JSON = '/etc/docker/key.json';

function dockerCgroups(): string[] {
  return readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c, 'docker')).filter((p) => existsSync(p));
}

function removeCgroupTree(dir: string): boolean {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

class SwarmDockerd {
  private proc: ChildProcess | undefined;
  private log = '';
  private readonly cgroupsBefore = new Set(dockerCgroups());
  private readonly keyJsonBefore = existsSync(KEY_JSON);
  readonly sock: string;

  constructor(
    readonly dir: string,
    readonly host: LabHost,
  ) {
    this.sock = join(dir, 'docker.sock');
  }

  env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: join(this.dir, 'cli') };
  }

  async start(): Promise<string> {
    if (!existsSync('/usr/sbin/dockerd')) throw new Error('dockerd is not installed (Debian package docker.io)');
    const args = [`--net=${this.host.netnsPath}`, '/usr/sbin/dockerd', '--iptables=false', '--ip-forward=false', ...(DOCKER_BRIDGE === 'none' ? ['--bridge=none'] : []),
      '--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'), '-H', `unix://${this.sock}`,
      '--pidfile', join(this.dir, 'docker.pid'), '--storage-driver', 'overlay2'];
    // Docker's swarm executor asks the registry for the image on every task unless told to prefer the
    // local one (moby's DOCKER_SERVICE_PREFER_OFFLINE_IMAGE); shoal uses a present image without asking
    const p = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' } });
    this.proc = p;
    const keep = (c: Buffer): void => void (this.log = (this.log + c.toString()).slice(-4000));
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    for (let i = 0; i < 300; i++) {
      if (p.exitCode !== null) throw new Error(`dockerd exited with ${p.exitCode}: ${this.log.trim().split('\n').slice(-3).join(' | ')}`);
      const r = await api(this.sock, 'GET', '/_ping', undefined, { timeoutMs: 1000 }).catch(() => undefined);
      if (r?.status === 200) break;
      await sleep(100);
    }
    const v = await run(DOCKER, ['version', '--format', '{{.Server.Version}}'], { env: this.env(), timeoutMs: 10_000 });
    if (v.code !== 0) throw new Error(`dockerd did not answer: ${v.stderr.trim()} ${this.log.slice(-300)}`);
    const init = await run(DOCKER, ['swarm', 'init', '--advertise-addr', this.host.addr], { env: this.env(), timeoutMs: 60_000 });
    if (init.code !== 0) throw new Error(`docker swarm init: ${init.stderr.trim()}`);
    return v.stdout.trim();
  }

  async stop(): Promise<string[]> {
    const notes: string[] = [];
    await run(DOCKER, ['swarm', 'leave', '--force'], { env: this.env(), timeoutMs: 60_000 }).catch(() => undefined);
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000)]);
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await exited;
      }
    }
    // its containerd and shims run with our roots on their command lines: those pids are ours
    const ps = await run('pgrep', ['-f', this.dir], { timeoutMs: 5000 }).catch(() => undefined);
    for (const pid of (ps?.stdout ?? '').split('\n').filter((l) => /^\d+$/.test(l)).map(Number)) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
        notes.push(`killed leftover pid ${pid}`);
      } catch {
        // gone
      }
    }
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[4];
      if (mp?.startsWith(this.dir)) {
        await run('umount', ['-l', mp], { timeoutMs: 10_000 });
        notes.push(`unmounted ${mp}`);
      }
    }
    for (const cg of dockerCgroups()) if (!this.cgroupsBefore.has(cg) && !removeCgroupTree(cg)) notes.push(`could not remove ${cg}`);
    if (!this.keyJsonBefore && existsSync(KEY_JSON)) rmSync(KEY_JSON, { force: true });
    return notes;
  }
}

async function dockerSide(busyboxTar: string): Promise<{ side: Side; version: string } | { error: string }> {
  const dir = await mkdtemp('/tmp/shoal-conv-dockerd-');
  const labName = `cd${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  const stateRoot = join(dir, 'lab');
  let d: SwarmDockerd | undefined;
  const close = async (): Promise<void> => {
    if (d) {
      const notes = await d.stop();
      if (notes.length) console.log(`  dockerd cleanup: ${notes.join('; ')}`);
    }
    await downHosts(stateRoot, labName, { purge: true });
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const lab = await upHosts({ name: labName, hosts: 1, stateRoot });
    d = new SwarmDockerd(dir, lab.hosts[0]!);
    const version = await d.start();
    console.log(`  docker: dockerd ${version}, single-node swarm in netns ${lab.hosts[0]!.netns} (--iptables=false${DOCKER_BRIDGE === 'none' ? ' --bridge=none: tasks without a network' : ', its docker0 bridge inside that namespace: a veth per task, as shoal'}, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1)`);
    const loaded = await run(DOCKER, ['load', '-i', busyboxTar], { env: d.env(), timeoutMs: 120_000 });
    if (loaded.code !== 0) throw new Error(`docker load: ${loaded.stderr.trim()}`);
    return { version, side: { label: 'docker swarm', manager: d.sock, engines: [d.sock], times: [], close } };
  } catch (e) {
    await close();
    return { error: (e as Error).message };
  }
}

/** One converge + removal on a side; a failure is recorded as the run's error. */
async function runOn(side: Side, i: number): Promise<string | undefined> {
  const name = `conv${i}`;
  try {
    const ms = await converge(side.manager, name, REPLICAS);
    side.times.push(ms);
    console.log(`    ${side.label.padEnd(15)} run ${i + 1}: ${REPLICAS} Running in ${fmt(ms)} (load ${load()})`);
  } catch (e) {
    return (e as Error).message;
  } finally {
    await removeService(side.manager, side.engines, name).catch(() => undefined);
  }
  return undefined;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:converge needs root (network namespaces, cgroups, mounts)');
  if (ONLY !== undefined && !['shoal1', 'shoal5', 'docker'].includes(ONLY)) throw new Error('--only: shoal1, shoal5 or docker');
  if (DOCKER_BRIDGE !== 'own' && DOCKER_BRIDGE !== 'none') throw new Error('--docker-bridge: own or none');
  console.log(`bench:converge — ${REPLICAS} replicas of busybox sleep, ${RUNS} run(s) per side, the sides up together and taking turns; load average ${load()}`);
  const scratch = await mkdtemp(join(tmpdir(), 'shoal-conv-'));
  const sides: Side[] = [];
  try {
    const want = (x: string): boolean => ONLY === undefined || ONLY === x;
    // the 1-host lab also hands busybox to dockerd (docker save: dockerd 20.10 cannot load an OCI layout)
    const one = await shoalSide(1, 1);
    sides.push(one.side);
    const tar = join(scratch, 'busybox.tar');
    let docker: Awaited<ReturnType<typeof dockerSide>> = { error: 'not asked for (--only)' };
    if (want('docker')) {
      await one.lab.dockerOk(one.lab.host(1), ['save', '-o', tar, 'busybox:latest']);
      docker = await dockerSide(tar);
      if ('side' in docker) sides.push(docker.side);
    }
    const five = want('shoal5') ? (await shoalSide(5, 3)).side : undefined;
    if (five) sides.push(five);
    const turn = sides.filter((s) => s !== one.side || want('shoal1') || want('docker'));
    const errors = new Map<Side, string>();
    for (let i = 0; i < RUNS; i++) {
      // a different side first each round, so a drifting background load hits all alike
      const order = turn.map((_, k) => turn[(k + i) % turn.length]!);
      for (const side of order) {
        if (errors.has(side)) continue;
        const err = await runOn(side, i);
        if (err) errors.set(side, err);
      }
    }
    console.log('');
    for (const side of sides) {
      const err = errors.get(side);
      if (side.times.length) console.log(`${`${side.label}:`.padEnd(17)}${REPLICAS} Running in ${fmt(median(side.times))} (median of ${side.times.length}: ${side.times.map(fmt).join(', ')})${err ? `; then failed: ${err}` : ''}`);
      else if (err) console.log(`${`${side.label}:`.padEnd(17)}failed: ${err}`);
    }
    const d = 'side' in docker ? docker.side : undefined;
    if (!d || d.times.length === 0) {
      console.log(`docker swarm:    NOT MEASURED — ${'error' in docker ? `Debian's dockerd cannot run a swarm here: ${docker.error}` : errors.get(d!) ?? 'no run'}`);
      console.log('converge ratio docker/shoal: not measured');
      return;
    }
    console.log(`(dockerd ${'version' in docker ? docker.version : ''}, 1 node)`);
    if (five?.times.length) console.log(`converge ratio docker/shoal (5 hosts): ${(median(d.times) / median(five.times)).toFixed(2)}`);
    if (one.side.times.length) console.log(`converge ratio docker/shoal: ${(median(d.times) / median(one.side.times)).toFixed(2)}`);
  } finally {
    for (const side of sides) await side.close().catch((e: unknown) => console.log(`  cleanup of ${side.label} failed: ${(e as Error).message}`));
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench:converge: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
