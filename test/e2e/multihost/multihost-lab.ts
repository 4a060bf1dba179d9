/**
 * The local multi-host cluster for end-to-end tests: the same deploy/cluster code `npm start` uses
 * (hosts = network namespaces on a private bridge, one shoald each under nsenter, swarm init/join
 * through the REST API), with a unique lab name, its own state directory and a private copy of dist/
 * (other sessions rebuild dist/ while tests run). The real docker CLI talks to each host's socket.
 * `cleanup` stops everything, runs each engine's --cleanup, sweeps, removes the namespaces and
 * directories, and answers what was left in the kernel (it should be nothing).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, apiOk } from '../../../deploy/cluster/api-client.js';
import { cleanupEngine, enginePid, logFile, stopEngine } from '../../../deploy/cluster/engines.js';
import { downHosts, upHosts, type Lab, type LabHost } from '../../../deploy/cluster/hosts.js';
import { busyboxTar, ensureBusybox, formSwarm, startSwarmHost, waitNodesReady } from '../../../deploy/cluster/swarm.js';
import { sweepHost } from '../../../deploy/cluster/sweep.js';
import { v1Hierarchies } from '../../../worker/engine/runtime/cgroups.js';
import { snapshotApp } from '../../integration/cluster/swarm-lab.js';
import { DOCKER, run, type RunResult } from '../engine/shoald-harness.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it answers something other than undefined/false; fails naming `what` and the last error. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, limitMs = 60_000, everyMs = 250): Promise<T> {
  const end = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

export interface TaskView {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
  Spec: { ContainerSpec?: { Image?: string } };
}

export interface ContainerView {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Labels: Record<string, string>;
}

export class MultihostLab {
  private constructor(
    readonly lab: Lab,
    readonly dir: string,
    readonly shoald: string,
  ) {}

  get hosts(): LabHost[] {
    return this.lab.hosts;
  }

  host(i: number): LabHost {
    const h = this.lab.hosts[i - 1];
    if (!h) throw new Error(`no host ${i}`);
    return h;
  }

  /** `hosts` hosts, the first `managers` managers, all Ready, busybox:latest on every host. */
  static async start(o: { hosts: number; managers: number }): Promise<MultihostLab> {
    const name = `m${randomBytes(3).toString('hex').slice(0, 5)}`;
    const dir = await mkdtemp(join(tmpdir(), `shoal-mh-${name}-`));
    let lab: MultihostLab | undefined;
    try {
      const shoald = await snapshotApp(dir);
      const l = await upHosts({ name, hosts: o.hosts, stateRoot: join(dir, 'lab') });
      lab = new MultihostLab(l, dir, shoald);
      const bb = busyboxTar();
      try {
        await Promise.all(l.hosts.map(async (h) => {
          await startSwarmHost(h, { shoald });
          await ensureBusybox(h, bb.get);
        }));
      } finally {
        bb.cleanup();
      }
      await formSwarm(l, o.managers);
      await waitNodesReady(l.hosts[0]!, o.hosts);
      return lab;
    } catch (e) {
      if (lab) await lab.cleanup().catch(() => undefined);
      else await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  env(h: LabHost): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: `unix://${h.socket}`, DOCKER_CONFIG: join(this.dir, 'docker-config'), DOCKER_BUILDKIT: '0' };
  }

  docker(h: LabHost, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run(DOCKER, args, { env: this.env(h), timeoutMs: opts.timeoutMs ?? 120_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  }

  async dockerOk(h: LabHost, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    const r = await this.docker(h, args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on ${h.name} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  async json<T>(h: LabHost, path: string): Promise<T> {
    return JSON.parse(await apiOk(h.socket, 'GET', path, undefined, { timeoutMs: 15_000 })) as T;
  }

  async nodeId(h: LabHost): Promise<string> {
    return (await this.json<{ Swarm: { NodeID: string } }>(h, '/info')).Swarm.NodeID;
  }

  /** node ID → host, from each running host's /info */
  async hostsByNode(): Promise<Map<string, LabHost>> {
    const out = new Map<string, LabHost>();
    for (const h of this.hosts) out.set(await this.nodeId(h), h);
    return out;
  }

  async tasks(manager: LabHost, service?: string): Promise<TaskView[]> {
    const q = service ? `?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}` : '';
    return this.json<TaskView[]>(manager, `/tasks${q}`);
  }

  async containers(h: LabHost): Promise<ContainerView[]> {
    return this.json<ContainerView[]>(h, '/containers/json?all=1');
  }

  /** Waits until `service` has exactly `n` tasks desired and observed running; answers them. */
  waitRunning(manager: LabHost, service: string, n: number, limitMs = 90_000): Promise<TaskView[]> {
    return until(`${n} running tasks of ${service}`, async () => {
      const ts = (await this.tasks(manager, service)).filter((t) => t.DesiredState === 'running');
      const running = ts.filter((t) => t.Status.State === 'running');
      return running.length === n && ts.length === n ? running : undefined;
    }, limitMs);
  }

  isRunning(h: LabHost): boolean {
    return enginePid(h) !== undefined;
  }

  /** Takes a host down: its shoald stopped (SIGTERM) and every process of its containers killed. */
  async stopHost(h: LabHost): Promise<void> {
    await stopEngine(h);
    await sweepHost(h);
  }

  /** SIGKILL of the host's shoald (its containers keep running under their monitors). */
  killDaemon(h: LabHost): void {
    const pid = enginePid(h);
    if (pid === undefined) throw new Error(`${h.name}: shoald is not running`);
    process.kill(pid, 'SIGKILL');
  }

  /** Starts the host's shoald again; it resumes its swarm role from its data root. */
  async startHost(h: LabHost): Promise<void> {
    await startSwarmHost(h, { shoald: this.shoald, readyTimeoutMs: 60_000 });
  }

  logs(h: LabHost, lines = 40): string {
    if (!existsSync(logFile(h))) return '';
    return readFileSync(logFile(h), 'utf8').split('\n').filter((l) => !l.includes('"msg":"request"')).slice(-lines).join('\n');
  }

  allLogs(lines = 25): string {
    return this.hosts.map((h) => `--- ${h.name} ---\n${this.logs(h, lines)}`).join('\n');
  }

  /** Removes everything the lab made; answers what was left in the kernel afterwards. */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(this.hosts.map((h) => stopEngine(h, 5000).catch((e: unknown) => problems.push(`${h.name}: stop: ${(e as Error).message}`))));
    await Promise.all(this.hosts.map(async (h) => {
      if (existsSync(h.netnsPath)) {
        const p = await cleanupEngine(h, { shoald: this.shoald });
        if (p) problems.push(p);
      }
      await sweepHost(h).catch((e: unknown) => problems.push(`${h.name}: sweep: ${(e as Error).message}`));
    }));
    await downHosts(join(this.dir, 'lab'), this.lab.name, { purge: true });
    const left = await this.leftovers();
    await rm(this.dir, { recursive: true, force: true });
    return [...problems, ...left];
  }

  private async leftovers(): Promise<string[]> {
    const left: string[] = [];
    const prefixes = this.hosts.map((h) => h.prefix);
    if (existsSync('/run/netns')) {
      for (const n of readdirSync('/run/netns')) if (n.startsWith(`${this.lab.name}-`) || prefixes.some((p) => n.startsWith(`${p}-`))) left.push(`netns ${n}`);
    }
    for (const l of readdirSync('/sys/class/net')) if (prefixes.some((p) => l.startsWith(p))) left.push(`link ${l}`);
    const roots = [...(await v1Hierarchies()), '/sys/fs/cgroup/unified'];
    for (const r of roots) for (const p of prefixes) if (existsSync(join(r, `shoal-${p}`))) left.push(`cgroup ${join(r, `shoal-${p}`)}`);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir));
    for (const m of mounts) left.push(`mount ${m}`);
    return left;
  }
}

/** One API call on a host; the answer's status and parsed body. */
export async function apiOn<T>(h: LabHost, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const r = await api(h.socket, method, path, body, { timeoutMs: 30_000 });
  let json: unknown;
  try {
    json = r.body ? JSON.parse(r.body) : undefined;
  } catch {
    json = r.body;
  }
  return { status: r.status, json: json as T };
}
