/**
 * Runs a real shoald for end-to-end tests: its own temp data root, exec root, socket and prefix; the
 * busybox image preloaded (E1's ensureBusybox); the real docker CLI as client; and a cleanup that
 * removes every container, network, namespace, mount and cgroup the engine made, then the temp dirs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBusybox, ImageStore } from '../../../worker/engine/image/index.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const SHOALD = join(ROOT, 'cli', 'shoald.js');
export const SHOAL = join(ROOT, 'cli', 'shoal.js');
export const DOCKER = '/usr/local/bin/docker';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: Buffer | string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms; stderr: ${Buffer.concat(err).toString()}`));
    }, opts.timeoutMs ?? 60_000);
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    p.stdin.on('error', () => undefined); // a child that exits without reading its stdin (EPIPE)
    p.stdin.end(opts.input ?? '');
  });
}

/** One HTTP request on the daemon's socket (for malformed bodies the CLI would never send). */
export function rawRequest(socketPath: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers }, timeout: 15_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ShoaldHarness {
  readonly prefix: string;
  readonly dir: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  readonly socket: string;
  readonly subnet: string;
  private proc: ChildProcess | undefined;
  private logs: Buffer[] = [];

  private constructor(dir: string) {
    this.dir = dir;
    this.prefix = `e${randomBytes(3).toString('hex').slice(0, 5)}`;
    this.dataRoot = join(dir, 'data');
    this.execRoot = join(dir, 'exec');
    this.socket = join(dir, 's.sock');
    this.subnet = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]!}.0/24`;
  }

  static async create(): Promise<ShoaldHarness> {
    const h = new ShoaldHarness(await mkdtemp(join(tmpdir(), 'shoal-e2e-')));
    // E1's base image script sometimes dies of SIGPIPE (exit 141): retry a few times
    const store = await ImageStore.open(join(h.dataRoot, 'image'));
    let last: unknown;
    for (let i = 0; i < 4; i++) {
      try {
        await ensureBusybox(store);
        return h;
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`could not build the busybox image: ${(last as Error).message}`);
  }

  get env(): NodeJS.ProcessEnv {
    return { DOCKER_HOST: `unix://${this.socket}`, SHOAL_HOST: `unix://${this.socket}`, DOCKER_CONFIG: join(this.dir, 'docker-config') };
  }

  daemonArgs(): string[] {
    return [SHOALD, '--data-root', this.dataRoot, '--exec-root', this.execRoot, '-H', `unix://${this.socket}`, '--prefix', this.prefix, '--bridge-subnet', this.subnet, '--log-level', 'info'];
  }

  async start(): Promise<void> {
    const p = spawn(process.execPath, this.daemonArgs(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    p.stdout!.on('data', (c: Buffer) => this.logs.push(c));
    p.stderr!.on('data', (c: Buffer) => this.logs.push(c));
    for (let i = 0; i < 150; i++) {
      if (p.exitCode !== null) throw new Error(`shoald exited with ${p.exitCode}: ${this.log()}`);
      try {
        const r = await rawRequest(this.socket, 'GET', '/_ping');
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`shoald did not answer /_ping: ${this.log()}`);
  }

  log(): string {
    return Buffer.concat(this.logs).toString().slice(-4000);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      p.kill('SIGKILL');
      return exited;
    }
    return code;
  }

  docker(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(DOCKER, args, { env: this.env, ...opts });
  }

  shoal(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(process.execPath, [SHOAL, ...args], { env: this.env, ...opts });
  }

  /** Kernel objects of this engine still present (netns, mounts under our dir, links, cgroups). */
  leftovers(): string[] {
    const out: string[] = [];
    if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) if (n.startsWith(`${this.prefix}-`)) out.push(`netns ${n}`);
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) if (line.includes(this.dir)) out.push(`mount ${line.split(' ')[1]}`);
    for (const l of readdirSync('/sys/class/net')) if (l.startsWith(this.prefix)) out.push(`link ${l}`);
    for (const ctl of this.cgroupRoots()) if (existsSync(join(ctl, `shoal-${this.prefix}`))) out.push(`cgroup ${join(ctl, `shoal-${this.prefix}`)}`);
    return out;
  }

  private cgroupRoots(): string[] {
    if (!existsSync('/sys/fs/cgroup')) return [];
    return readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  }

  /** Stops the daemon, removes everything the engine created (shoald --cleanup), then the temp dirs. */
  async cleanup(): Promise<string[]> {
    await this.stop('SIGTERM').catch(() => undefined);
    const r = await run(process.execPath, [...this.daemonArgs(), '--cleanup'], { timeoutMs: 120_000 }).catch((e: unknown) => ({ code: -1, stdout: '', stderr: (e as Error).message }));
    // runc/crun leave the engine's parent cgroup (reference/runtime.md pitfall 10): the engine removes it
    // itself in every hierarchy, the hybrid cgroup2 one included; one left here is reported, then removed
    const left = this.leftovers();
    for (const ctl of this.cgroupRoots()) {
      const p = join(ctl, `shoal-${this.prefix}`);
      if (existsSync(p)) {
        try {
          rmdirSync(p);
        } catch {
          // reported above
        }
      }
    }
    if (left.filter((l) => l.startsWith('mount')).length === 0) await rm(this.dir, { recursive: true, force: true });
    if (r.code !== 0) left.push(`cleanup exited ${r.code}: ${r.stderr.slice(-500)}`);
    return left;
  }
}
