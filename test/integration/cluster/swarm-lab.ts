/**
 * Real shoald processes forming a swarm on loopback: each host has its own 127.x.y.z address and port,
 * data root, exec root, socket, kernel-object prefix and bridge subnet, and a hostname of its own; the
 * real docker CLI (and raw HTTP) talks to its socket. Cleanup stops every process, runs
 * `shoald --cleanup` for the engine's kernel objects and removes the directories.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DOCKER, rawRequest, run, type RunResult } from '../../e2e/engine/shoald-harness.js';
import { buildBusyboxLayout, BUSYBOX_REF, ImageStore } from '../../../worker/engine/image/index.js';

const ROOT = new URL('../../../../', import.meta.url).pathname;

/**
 * A private copy of the compiled daemon for this lab: other sessions rebuild dist/ while tests run,
 * and a daemon (re)started in the middle of a rebuild would load half-written modules. Copied until
 * two copies agree; node_modules, proto/ and deploy/ are linked.
 */
export async function snapshotApp(dir: string): Promise<string> {
  const app = join(dir, 'app');
  const parts = ['cli', 'manager', 'worker'];
  const list = async (base: string): Promise<string[]> => {
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.js')) out.push(relative(base, p));
      }
    };
    for (const part of parts) walk(join(base, part));
    return out.sort();
  };
  for (let attempt = 0; ; attempt++) {
    await rm(app, { recursive: true, force: true });
    await mkdir(join(app, 'dist'), { recursive: true });
    for (const part of parts) await cp(join(ROOT, 'dist', part), join(app, 'dist', part), { recursive: true, filter: (src) => !src.endsWith('.map') });
    await new Promise((r) => setTimeout(r, 200));
    const files = await list(join(app, 'dist'));
    let same = files.length === (await list(join(ROOT, 'dist'))).length;
    for (const f of files) {
      if (!same) break;
      const [a, b] = await Promise.all([readFile(join(app, 'dist', f)), readFile(join(ROOT, 'dist', f))]);
      same = a.equals(b);
    }
    if (same) break;
    if (attempt >= 20) throw new Error('dist/ keeps changing: cannot take a consistent copy of the daemon');
  }
  await writeFile(join(app, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  for (const link of ['node_modules', 'proto', 'deploy']) await symlink(join(ROOT, link), join(app, link));
  return join(app, 'dist', 'cli', 'shoald.js');
}

export { rawRequest, run };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SwarmHost {
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  readonly prefix: string;
  readonly subnet: string;
  private proc: ChildProcess | undefined;
  private logs: Buffer[] = [];

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly ip: string,
    readonly port: number,
    private readonly shoald: string,
    private readonly executor: 'sim' | 'engine' = 'sim',
  ) {
    this.dataRoot = join(dir, 'data');
    this.execRoot = join(dir, 'exec');
    this.socket = join(dir, 's.sock');
    this.prefix = `c${randomBytes(3).toString('hex').slice(0, 5)}`;
    this.subnet = `10.${150 + randomInt(50)}.${randomInt(250)}.0/24`;
  }

  /** host:port of its swarm listener */
  get addr(): string {
    return `${this.ip}:${this.port}`;
  }

  /** host:port of its Prometheus metrics */
  get metricsAddr(): string {
    return `${this.ip}:${this.port + 1}`;
  }

  async metrics(): Promise<string> {
    const r = await fetch(`http://${this.metricsAddr}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (r.status !== 200) throw new Error(`metrics of ${this.name}: ${r.status}`);
    return r.text();
  }

  get env(): NodeJS.ProcessEnv {
    return { DOCKER_HOST: `unix://${this.socket}`, SHOAL_HOST: `unix://${this.socket}`, DOCKER_CONFIG: join(this.dir, 'docker-config') };
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  daemonArgs(): string[] {
    return [this.shoald, '--data-root', this.dataRoot, '--exec-root', this.execRoot, '-H', `unix://${this.socket}`, '--prefix', this.prefix,
      '--bridge-subnet', this.subnet, '--hostname', this.name, '--listen-addr', this.addr, '--metrics-addr', this.metricsAddr, '--log-level', 'info', '--role-poll-ms', '300',
      // control-plane tests simulate tasks (shoald runs real containers by default)
      '--executor', this.executor];
  }

  async start(): Promise<void> {
    const p = spawn(process.execPath, this.daemonArgs(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    p.stdout!.on('data', (c: Buffer) => this.logs.push(c));
    p.stderr!.on('data', (c: Buffer) => this.logs.push(c));
    for (let i = 0; i < 300; i++) {
      if (p.exitCode !== null) throw new Error(`shoald ${this.name} exited with ${p.exitCode}: ${this.log()}`);
      try {
        if ((await rawRequest(this.socket, 'GET', '/_ping')).status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`shoald ${this.name} did not answer /_ping: ${this.log()}`);
  }

  /** Stops the daemon (SIGTERM, or SIGKILL for a crash); resolves when it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = await Promise.race([exited.then(() => 'ok' as const), sleep(15_000).then(() => 'timeout' as const)]);
    if (t === 'timeout') {
      p.kill('SIGKILL');
      await exited;
    }
  }

  /** The daemon's log without request lines, the last `limit` characters (Infinity: all). */
  log(limit = 6000): string {
    const text = Buffer.concat(this.logs).toString().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n');
    return Number.isFinite(limit) ? text.slice(-limit) : text;
  }

  docker(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run(DOCKER, args, { env: this.env, timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  }

  /** The docker CLI, failing the test with its output when it exits non-zero. */
  async dockerOk(args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.docker(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on ${this.name} exited ${r.code}: ${r.stderr}${r.stdout}\n--- ${this.name} log ---\n${this.log()}`);
    return r.stdout;
  }

  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T; text: string }> {
    const r = await rawRequest(this.socket, method, path, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    let json: unknown;
    try {
      json = r.body === '' ? undefined : JSON.parse(r.body);
    } catch {
      json = undefined;
    }
    return { status: r.status, json: json as T, text: r.body };
  }

  /** `docker node ls` as rows of {id, self, hostname, status, availability, manager}. */
  async nodeLs(): Promise<{ id: string; self: boolean; hostname: string; status: string; availability: string; manager: string }[]> {
    const out = await this.dockerOk(['node', 'ls', '--format', '{{.ID}}|{{.Self}}|{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}']);
    return out.trim().split('\n').filter(Boolean).map((l) => {
      const [id, self, hostname, status, availability, manager] = l.split('|') as [string, string, string, string, string, string];
      return { id, self: self === 'true', hostname, status, availability, manager };
    });
  }

  async cleanup(): Promise<string[]> {
    await this.stop('SIGKILL').catch(() => undefined);
    const left: string[] = [];
    const r = await run(process.execPath, [...this.daemonArgs(), '--cleanup'], { timeoutMs: 120_000 }).catch((e: unknown) => ({ code: -1, stdout: '', stderr: (e as Error).message }));
    if (r.code !== 0) left.push(`cleanup of ${this.name} exited ${r.code}: ${r.stderr.slice(-300)}`);
    if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) if (n.startsWith(`${this.prefix}-`)) left.push(`netns ${n}`);
    for (const l of readdirSync('/sys/class/net')) if (l.startsWith(this.prefix)) left.push(`link ${l}`);
    // the engine's parent cgroup is left by runc/crun (reference/runtime.md pitfall 10)
    if (existsSync('/sys/fs/cgroup')) {
      for (const ctl of readdirSync('/sys/fs/cgroup')) {
        const p = join('/sys/fs/cgroup', ctl, `shoal-${this.prefix}`);
        if (!existsSync(p)) continue;
        try {
          rmdirSync(p);
        } catch {
          if (existsSync(p)) left.push(`cgroup ${p}`);
        }
      }
    }
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) if (line.includes(this.dir)) left.push(`mount ${line.split(' ')[1]}`);
    if (!left.some((l) => l.startsWith('mount'))) await rm(this.dir, { recursive: true, force: true });
    return left;
  }
}

export class SwarmLab {
  readonly hosts: SwarmHost[] = [];
  /** the lab's copy of the shoal CLI (dist/cli/shoal.js beside its shoald) */
  shoalCli = '';

  private constructor(readonly dir: string) {}

  /**
   * `names.length` hosts on 127.B.C.1…n (B, C and the port random per lab), started in parallel.
   * `executor: 'engine'` runs tasks as real containers (default: simulated); `busybox` preloads
   * busybox:latest into every host's image store (built once), so no task needs a registry.
   */
  static async start(names: string[], opts: { executor?: 'sim' | 'engine'; busybox?: boolean } = {}): Promise<SwarmLab> {
    const lab = new SwarmLab(await mkdtemp(join(tmpdir(), 'shoal-swarm-')));
    const b = 100 + randomInt(100);
    const c = randomInt(250);
    const port = 20000 + randomInt(20000);
    try {
      const shoald = await snapshotApp(lab.dir);
      lab.shoalCli = join(shoald, '..', 'shoal.js');
      names.forEach((n, i) => lab.hosts.push(new SwarmHost(n, join(lab.dir, n), `127.${b}.${c}.${i + 1}`, port, shoald, opts.executor ?? 'sim')));
      if (opts.busybox) {
        const layout = join(lab.dir, 'busybox-oci');
        await buildBusyboxLayout(layout);
        for (const h of lab.hosts) {
          const store = await ImageStore.open(join(h.dataRoot, 'image'));
          await store.loadLayout(layout, { ref: BUSYBOX_REF });
        }
      }
      await Promise.all(lab.hosts.map((h) => h.start()));
    } catch (e) {
      await lab.cleanup();
      throw e;
    }
    return lab;
  }

  host(name: string): SwarmHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** docker swarm init on `first`, then joins: managers with the manager token, workers with the worker's. */
  async form(first: string, managers: string[], workers: string[], opts: { initArgs?: string[]; via?: Record<string, string> } = {}): Promise<{ workerToken: string; managerToken: string }> {
    const h = this.host(first);
    await h.dockerOk(['swarm', 'init', '--advertise-addr', h.ip, ...(opts.initArgs ?? [])]);
    const managerToken = (await h.dockerOk(['swarm', 'join-token', '-q', 'manager'])).trim();
    const workerToken = (await h.dockerOk(['swarm', 'join-token', '-q', 'worker'])).trim();
    // `via`: join through another (already joined) manager than the first one
    const through = (name: string): string => this.host(opts.via?.[name] ?? first).addr;
    for (const m of managers) await this.host(m).dockerOk(['swarm', 'join', '--token', managerToken, through(m)]);
    await Promise.all(workers.map((w) => this.host(w).dockerOk(['swarm', 'join', '--token', workerToken, through(w)])));
    return { workerToken, managerToken };
  }

  /** Stops everything, removes every kernel object and directory; returns what was left behind. */
  async cleanup(): Promise<string[]> {
    const left = (await Promise.all(this.hosts.map((h) => h.cleanup()))).flat();
    await rm(this.dir, { recursive: true, force: true });
    return left;
  }

  logs(): string {
    return this.hosts.map((h) => `--- ${h.name} ---\n${h.log()}`).join('\n');
  }
}

/** Polls `fn` until it returns a value that is not undefined/false. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, limitMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}
