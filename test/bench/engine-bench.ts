// Benchmark of the node-local engine (issue 5). Usage: npm run bench:engine -- [--runs N] [--cli-runs N] [--many N]
//  (a) create → start → exit of /bin/true through shoald's API (HTTP on its unix socket), median of N,
//      against the same OCI runtime (`runc run` / `crun run`) on an equivalent bundle: the config.json
//      shoald wrote, on its own overlay snapshot of the same image layers, with a fresh network namespace;
//  (b) `shoal run --rm busybox true` against `docker run --rm busybox true` on Debian's dockerd (started
//      here on temp roots, without iptables or bridge; busybox loaded into it with docker save|load);
//  (c) 100 containers (create, start, wait, remove of /bin/true), 8 at a time: total seconds.
// The last line is `engine/runtime start ratio: R`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSnapshot, mountSnapshot, removeSnapshot, snapshotLowerDirs, snapshotPaths } from '../../worker/engine/snapshot/overlay-snapshot.js';
import { DOCKER, rawRequest, run, SHOAL, ShoaldHarness } from '../e2e/engine/shoald-harness.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!(n > 0)) throw new Error(`bad ${name} ${process.argv[i + 1] ?? ''}`);
  return Math.floor(n);
}

const RUNS = arg('--runs', 50);
const CLI_RUNS = arg('--cli-runs', 15);
const MANY = arg('--many', 100);
const PARALLEL = 8;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

async function api(h: ShoaldHarness, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await rawRequest(h.socket, method, `/v1.45${path}`, body === undefined ? undefined : JSON.stringify(body));
  if (r.status >= 300 && r.status !== 304) throw new Error(`${method} ${path} → ${r.status} ${r.body}`);
  return r.body === '' ? {} : (JSON.parse(r.body) as Record<string, unknown>);
}

/** create → start → wait through the API; returns the ms of that and the container ID (not removed). */
async function apiTrue(h: ShoaldHarness, hostConfig: Record<string, unknown>): Promise<{ ms: number; id: string }> {
  const t0 = nowMs();
  const c = await api(h, 'POST', '/containers/create', { Image: 'busybox', Cmd: ['/bin/true'], HostConfig: hostConfig });
  const id = String(c['Id']);
  await api(h, 'POST', `/containers/${id}/start`);
  const w = await api(h, 'POST', `/containers/${id}/wait`);
  const ms = nowMs() - t0;
  if (w['StatusCode'] !== 0) throw new Error(`/bin/true exited ${String(w['StatusCode'])}`);
  return { ms, id };
}

interface Spec {
  root: { path: string; readonly?: boolean };
  process: { args: string[]; terminal?: boolean };
  mounts?: { destination: string; source: string; type?: string; options?: string[] }[];
  linux: { cgroupsPath?: string; namespaces: { type: string; path?: string }[] };
}

/** An equivalent bundle for the runtime alone: shoald's spec, its own overlay of the same layers, a new netns. */
async function directBundle(h: ShoaldHarness, containerId: string, dir: string): Promise<{ bundle: string; snapshot: string }> {
  const cdir = join(h.dataRoot, 'containers', containerId);
  const spec = JSON.parse(await readFile(join(cdir, 'config.json'), 'utf8')) as Spec;
  const snapshot = join(dir, 'snap');
  await prepareSnapshot(snapshot, await snapshotLowerDirs(cdir));
  await mountSnapshot(snapshot);
  const bundle = join(dir, 'bundle');
  await mkdir(bundle, { recursive: true });
  for (const m of spec.mounts ?? []) {
    if (m.source.startsWith(cdir)) {
      const copy = join(bundle, m.source.slice(cdir.length + 1).replace(/\//g, '_'));
      await copyFile(m.source, copy);
      m.source = copy;
    }
  }
  spec.root.path = snapshotPaths(snapshot).rootfs;
  spec.process.args = ['/bin/true'];
  spec.process.terminal = false;
  spec.linux.namespaces = spec.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network' } : n));
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  return { bundle, snapshot };
}

/** `<runtime> run` of the bundle, one run at a time (each with its own ID and cgroup), then its cleanup. */
class DirectRuntime {
  private readonly specPath: string;
  private readonly base: Spec;
  private n = 0;
  constructor(private readonly runtime: string, private readonly bundle: string, private readonly stateRoot: string, private readonly prefix: string) {
    this.specPath = join(bundle, 'config.json');
    this.base = JSON.parse(readFileSync(this.specPath, 'utf8')) as Spec;
  }

  /** One `run` of /bin/true; the ms it took (the delete after it is not counted). */
  async once(): Promise<number> {
    const id = `${this.prefix}-direct-${this.n++}`;
    this.base.linux.cgroupsPath = `/shoal-${this.prefix}-direct/${id}`;
    writeFileSync(this.specPath, JSON.stringify(this.base));
    const t0 = nowMs();
    const r = await run(this.runtime, ['--root', this.stateRoot, 'run', '--bundle', this.bundle, id], { timeoutMs: 30_000 });
    const ms = nowMs() - t0;
    if (r.code !== 0) throw new Error(`${this.runtime} run exited ${r.code}: ${r.stderr}`);
    await run(this.runtime, ['--root', this.stateRoot, 'delete', '--force', id], { timeoutMs: 15_000 });
    return ms;
  }

  cleanup(): void {
    for (const ctl of readdirSync('/sys/fs/cgroup')) {
      const p = join('/sys/fs/cgroup', ctl, `shoal-${this.prefix}-direct`);
      if (!existsSync(p)) continue;
      for (const e of readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) try { rmdirSync(join(p, e.name)); } catch { /* reported below */ }
      try { rmdirSync(p); } catch { console.log(`note: could not remove ${p}`); }
    }
  }
}

const KEY_JSON = '/etc/docker/key.json';
/** directories dockerd 20.10 and its containerd shims make outside their roots (children before parents) */
const FIXED_DIRS = ['/run/containerd/s', '/run/containerd', '/var/run/docker/plugins', '/var/run/docker'];

/** Debian's dockerd on temp roots; undone by stop(). Throws with the reason when it cannot run. */
class Dockerd {
  private proc: ChildProcess | undefined;
  private log = '';
  private readonly ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  private forwardPolicy: string | undefined;
  private readonly cgroupsBefore = new Set(this.dockerCgroups());
  /** dockerd 20.10 writes its identity key here on first start */
  private readonly keyJsonBefore = existsSync(KEY_JSON);
  private readonly dirsBefore = new Set(FIXED_DIRS.filter((d) => existsSync(d)));
  readonly sock: string;
  constructor(readonly dir: string) {
    this.sock = join(dir, 'docker.sock');
    this.forwardPolicy = undefined;
  }

  private dockerCgroups(): string[] {
    const out: string[] = [];
    for (const ctl of readdirSync('/sys/fs/cgroup')) if (existsSync(join('/sys/fs/cgroup', ctl, 'docker'))) out.push(join('/sys/fs/cgroup', ctl, 'docker'));
    return out;
  }

  static async forwardPolicy(): Promise<string | undefined> {
    const r = await run('iptables', ['-S', 'FORWARD'], { timeoutMs: 10_000 }).catch(() => undefined);
    return r && r.code === 0 ? /^-P FORWARD (\w+)/m.exec(r.stdout)?.[1] : undefined;
  }

  env(): NodeJS.ProcessEnv {
    return { DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: join(this.dir, 'cli') };
  }

  async start(policyBefore: string | undefined): Promise<void> {
    this.forwardPolicy = policyBefore;
    if (!existsSync('/usr/sbin/dockerd')) throw new Error('dockerd is not installed (Debian package docker.io)');
    const args = ['--iptables=false', '--ip-forward=false', '--bridge=none', '--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'), '-H', `unix://${this.sock}`, '--pidfile', join(this.dir, 'docker.pid'), '--storage-driver', 'overlay2'];
    const p = spawn('/usr/sbin/dockerd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    p.stdout!.on('data', (c: Buffer) => (this.log = (this.log + c.toString()).slice(-4000)));
    p.stderr!.on('data', (c: Buffer) => (this.log = (this.log + c.toString()).slice(-4000)));
    for (let i = 0; i < 300; i++) {
      if (p.exitCode !== null) throw new Error(`dockerd exited with ${p.exitCode}: ${this.log.trim().split('\n').slice(-3).join(' | ')}`);
      const r = await rawRequest(this.sock, 'GET', '/_ping').catch(() => undefined);
      if (r?.status === 200) return;
      await sleep(100);
    }
    throw new Error(`dockerd did not answer /_ping within 30 s: ${this.log.slice(-500)}`);
  }

  async stop(): Promise<string[]> {
    const notes: string[] = [];
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await exited;
      }
    }
    // its managed containerd and shims go with it; kill any left in our exec root
    const ps = await run('pgrep', ['-f', this.dir], { timeoutMs: 5000 }).catch(() => undefined);
    for (const pid of (ps?.stdout ?? '').split('\n').filter((l) => /^\d+$/.test(l))) {
      if (Number(pid) !== process.pid) try { process.kill(Number(pid), 'SIGKILL'); notes.push(`killed leftover pid ${pid}`); } catch { /* gone */ }
    }
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[1];
      if (mp && mp.startsWith(this.dir)) {
        await run('umount', ['-l', mp], { timeoutMs: 10_000 });
        notes.push(`unmounted ${mp}`);
      }
    }
    for (const cg of this.dockerCgroups()) {
      if (this.cgroupsBefore.has(cg)) continue;
      for (const e of readdirSync(cg, { withFileTypes: true })) if (e.isDirectory()) try { rmdirSync(join(cg, e.name)); } catch { /* busy */ }
      try { rmdirSync(cg); } catch { notes.push(`could not remove ${cg}`); }
    }
    if (!this.keyJsonBefore && existsSync(KEY_JSON)) {
      rmSync(KEY_JSON, { force: true });
      notes.push(`removed ${KEY_JSON}`);
    }
    // those it made, once empty (another dockerd's shims would still have sockets there)
    for (const d of FIXED_DIRS) {
      if (this.dirsBefore.has(d) || !existsSync(d)) continue;
      try {
        rmdirSync(d);
        notes.push(`removed ${d}`);
      } catch {
        notes.push(`left ${d} (not empty)`);
      }
    }
    writeFileSync('/proc/sys/net/ipv4/ip_forward', this.ipForward);
    const after = await Dockerd.forwardPolicy();
    if (this.forwardPolicy && after && after !== this.forwardPolicy) {
      await run('iptables', ['-P', 'FORWARD', this.forwardPolicy], { timeoutMs: 10_000 });
      notes.push(`FORWARD policy restored to ${this.forwardPolicy}`);
    }
    return notes;
  }
}

/** One timed run of a CLI command (throws when it fails). */
async function cliOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = nowMs();
  const r = await run(cmd, args, { env, timeoutMs: 60_000 });
  const ms = nowMs() - t0;
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return ms;
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function stopDockerd(d: Dockerd, dir: string): Promise<void> {
  const notes = await d.stop();
  if (notes.length) console.log(`    dockerd cleanup: ${notes.join('; ')}`);
  await rm(dir, { recursive: true, force: true }).catch((e: unknown) => console.log(`    could not remove ${dir}: ${(e as Error).message}`));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:engine needs root (namespaces, mounts, cgroups)');
  const h = await ShoaldHarness.create();
  const scratch = await mkdtemp(join(tmpdir(), 'shoal-engine-bench-'));
  let ratioA = NaN;
  try {
    await h.start();
    const info = await api(h, 'GET', '/info');
    const runtime = String(info['DefaultRuntime']);
    console.log(`shoald on ${h.socket}, OCI runtime ${runtime}, ${RUNS} runs per figure; load average ${load()}`);

    // (a) --network none on both sides: a new, empty network namespace, as the runtime's own default.
    // The API and the runtime alone alternate run by run, so a change of load on the host hits both.
    const hc = { NetworkMode: 'none' };
    const first = await apiTrue(h, hc);
    const { bundle, snapshot } = await directBundle(h, first.id, scratch);
    await api(h, 'DELETE', `/containers/${first.id}`);
    const runtimePath = runtime === 'crun' ? '/usr/bin/crun' : '/usr/sbin/runc';
    const stateRoot = join(scratch, 'runtime-state');
    await mkdir(stateRoot, { recursive: true });
    const direct = new DirectRuntime(runtimePath, bundle, stateRoot, h.prefix);
    const apiTimes: number[] = [];
    const directTimes: number[] = [];
    try {
      for (let i = 0; i < RUNS + 3; i++) {
        const { ms, id } = await apiTrue(h, hc);
        await api(h, 'DELETE', `/containers/${id}`);
        const dms = await direct.once();
        if (i >= 3) { // 3 warm-up runs of each
          apiTimes.push(ms);
          directTimes.push(dms);
        }
      }
    } finally {
      direct.cleanup();
      await removeSnapshot(snapshot);
    }
    const apiMed = median(apiTimes);
    const directMed = median(directTimes);
    ratioA = apiMed / directMed;
    console.log(`(a) create→start→exit of /bin/true (--network none), alternating: API median ${fmt(apiMed)} (min ${fmt(Math.min(...apiTimes))}), ${runtime} run median ${fmt(directMed)} (min ${fmt(Math.min(...directTimes))}) → ratio ${ratioA.toFixed(2)} (target ≤ 2)`);
    const withBridge: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 20); i++) {
      const { ms, id } = await apiTrue(h, {});
      withBridge.push(ms);
      await api(h, 'DELETE', `/containers/${id}`);
    }
    console.log(`    the same on the default bridge network (veth, IP, /etc files): median ${fmt(median(withBridge))}`);

    // (b) the CLIs end to end, alternating run by run when dockerd can run
    const shoalArgs = [SHOAL, 'run', '--rm', 'busybox', 'true'];
    const dockerDir = await mkdtemp('/tmp/shoal-bench-dockerd-');
    const d = new Dockerd(dockerDir);
    let dockerArgs: string[] | undefined;
    let dockerVersion = '';
    try {
      await d.start(await Dockerd.forwardPolicy());
      const tar = join(scratch, 'busybox.tar');
      const save = await run(DOCKER, ['save', '-o', tar, 'busybox'], { env: h.env, timeoutMs: 60_000 });
      if (save.code !== 0) throw new Error(`docker save from shoald: ${save.stderr}`);
      const loaded = await run(DOCKER, ['load', '-i', tar], { env: d.env(), timeoutMs: 60_000 });
      if (loaded.code !== 0) throw new Error(`docker load into dockerd: ${loaded.stderr}`);
      dockerVersion = (await run(DOCKER, ['version', '--format', '{{.Server.Version}}'], { env: d.env(), timeoutMs: 10_000 })).stdout.trim();
      // --bridge=none may leave dockerd without a usable default network: then both sides run with --network none
      const probe = await run(DOCKER, ['run', '--rm', 'busybox', 'true'], { env: d.env(), timeoutMs: 60_000 });
      dockerArgs = probe.code === 0 ? ['run', '--rm', 'busybox', 'true'] : ['run', '--rm', '--network', 'none', 'busybox', 'true'];
      if (probe.code !== 0) console.log(`    dockerd ${dockerVersion} has no bridge here (${probe.stderr.trim().split('\n')[0]}); docker runs with --network none`);
    } catch (e) {
      console.log(`    docker run --rm NOT MEASURED: Debian's dockerd cannot run here: ${(e as Error).message}`);
      await stopDockerd(d, dockerDir);
    }
    try {
      const shoalTimes: number[] = [];
      const dockerTimes: number[] = [];
      for (let i = 0; i < CLI_RUNS + 2; i++) {
        const sms = await cliOnce(process.execPath, shoalArgs, h.env);
        const dms = dockerArgs ? await cliOnce(DOCKER, dockerArgs, d.env()) : NaN;
        if (i >= 2) {
          shoalTimes.push(sms);
          dockerTimes.push(dms);
        }
      }
      const shoalMed = median(shoalTimes);
      console.log(`(b) shoal run --rm busybox true: median ${fmt(shoalMed)} over ${CLI_RUNS}`);
      if (dockerArgs) {
        const dockerMed = median(dockerTimes);
        console.log(`    docker ${dockerArgs.join(' ')} on dockerd ${dockerVersion} (alternating): median ${fmt(dockerMed)} → ratio ${(shoalMed / dockerMed).toFixed(2)} (target ≤ 0.33)`);
      }
    } finally {
      if (dockerArgs) await stopDockerd(d, dockerDir);
    }

    // (c) many containers, PARALLEL at a time, on the default bridge
    const t0 = nowMs();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < MANY) {
        next++;
        const { id } = await apiTrue(h, {});
        await api(h, 'DELETE', `/containers/${id}`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const total = (nowMs() - t0) / 1000;
    console.log(`(c) ${MANY} containers (create, start, exit, remove), ${PARALLEL} in parallel: ${total.toFixed(2)} s total (${(MANY / total).toFixed(1)} containers/s); load average ${load()}`);
  } finally {
    const left = await h.cleanup();
    if (left.length) console.log(`leftovers: ${left.join(', ')}`);
    await rm(scratch, { recursive: true, force: true });
  }
  console.log(`engine/runtime start ratio: ${ratioA.toFixed(2)}`);
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
