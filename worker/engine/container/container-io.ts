/** A container's I/O: logs, attach (output), exec sessions, health probes and stats samples. */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { stdinWriter } from './attach-stdin.js';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { snapshotPaths } from '../snapshot/overlay-snapshot.js';
import { readCgroupFile } from '../runtime/cgroups.js';
import { attachSocketPath } from '../runtime/conmon.js';
import { run } from '../runtime/exec-file.js';
import { sampleStats, type DockerStats } from './container-stats.js';
import { cgroupPath, logPathOf, type RunnerContext } from './container-runner.js';
import type { ContainerStore } from './container-store.js';
import { badRequest, conflict, notFound } from './errors.js';
import { collect, ExecSession, type ExecCreateBody, type ExecHandle, type ExecInspect, type OutputChunk } from './exec-session.js';
import { logSize, readLogs, type LogEntry, type LogOptions } from './log-reader.js';
import { resolveUser } from './user.js';

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  stream?: boolean;
  /** replay the log first */
  logs?: boolean;
  signal?: AbortSignal;
}

export interface AttachHandle {
  /** the container's stdin (only with OpenStdin); ending it closes the container's stdin when StdinOnce */
  stdin?: Writable;
  output: AsyncIterable<OutputChunk>;
}

export class ContainerIo {
  private readonly execs = new Map<string, ExecSession>();
  private readonly lastStats = new Map<string, DockerStats>();

  constructor(
    private readonly store: ContainerStore,
    private readonly runtime: OciRuntime,
    private readonly ctx: RunnerContext,
    private readonly nextExit: (id: string) => Promise<number>,
    private readonly nextStart: (id: string) => Promise<void>,
  ) {}

  logPath(id: string): string {
    return logPathOf(this.ctx.dir(id));
  }

  /** GET /containers/{id}/logs: follow ends when the container stops. */
  logs(idOrName: string, o: Omit<LogOptions, 'stopped' | 'fromOffset'> = {}): AsyncIterable<LogEntry> {
    const r = this.store.get(idOrName);
    const running = r.state.status === 'running' || r.state.status === 'restarting';
    const exit = o.follow && running ? this.nextExit(r.id) : undefined;
    return readLogs(this.logPath(r.id), { ...o, stopped: async () => void (await (exit ?? Promise.resolve(0))) });
  }

  /** Output attach: what the container writes from now on (or from the start with `logs`), until it exits. */
  async attach(idOrName: string, o: AttachOptions = {}): Promise<AttachHandle> {
    const r = this.store.get(idOrName);
    if (r.state.status !== 'created' && r.state.status !== 'running' && r.state.status !== 'restarting') {
      if (o.stream) throw conflict(`You cannot attach to a stopped container, start it first`);
    }
    const path = this.logPath(r.id);
    const from = o.logs ? 0 : await logSize(path);
    const exit = o.stream ? this.nextExit(r.id) : Promise.resolve(0);
    const entries = readLogs(path, {
      follow: o.stream === true,
      fromOffset: from,
      stdout: o.stdout !== false,
      stderr: o.stderr !== false,
      stopped: async () => void (await exit),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    async function* output(): AsyncGenerator<OutputChunk> {
      for await (const e of entries) yield { stream: e.stream, data: e.data };
    }
    const handle: AttachHandle = { output: output() };
    if (o.stdin && r.config.OpenStdin) {
      const running = r.state.status === 'running';
      handle.stdin = stdinWriter(attachSocketPath(this.ctx.socketDir, r.id), running ? Promise.resolve() : this.nextStart(r.id), running ? exit : this.nextStart(r.id).then(() => this.nextExit(r.id)));
    }
    return handle;
  }

  execCreate(idOrName: string, body: ExecCreateBody): { Id: string } {
    const r = this.store.get(idOrName);
    if (r.state.status !== 'running') throw conflict(`Container ${r.id} is not running`);
    const s = new ExecSession(r.id, body);
    this.execs.set(s.id, s);
    return { Id: s.id };
  }

  private exec(execId: string): ExecSession {
    const s = this.execs.get(execId);
    if (!s) throw notFound(`No such exec instance: ${execId}`);
    return s;
  }

  async execStart(execId: string, o: { detach?: boolean; tty?: boolean; timeoutMs?: number } = {}): Promise<ExecHandle> {
    const s = this.exec(execId);
    const r = this.store.get(s.containerId);
    if (r.state.status !== 'running') throw conflict(`Container ${r.id} is not running`);
    const user = s.body.User ? await resolveUser(snapshotPaths(this.ctx.dir(r.id)).rootfs, s.body.User) : undefined;
    const h = await s.start(this.runtime, r, this.ctx.dir(r.id), user ? { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids, spec: user.spec } : undefined, o.timeoutMs ? { timeoutMs: o.timeoutMs } : {});
    if (o.detach) {
      void (async () => {
        for await (const _ of h.output) void _;
      })();
    }
    void h.wait().then(() => setTimeout(() => this.execs.delete(execId), 5 * 60_000).unref());
    return h;
  }

  execInspect(execId: string): ExecInspect {
    return this.exec(execId).inspect();
  }

  /** Runs a health-check command; a timeout kills it. */
  async probe(id: string, cmd: string[], timeoutMs: number): Promise<{ code: number; output: string; timedOut: boolean }> {
    const { Id } = this.execCreate(id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const started = Date.now();
    const res = await collect(await this.execStart(Id, { timeoutMs }), 4096);
    this.execs.delete(Id);
    const timedOut = res.code === 137 && Date.now() - started >= timeoutMs;
    return { code: res.code, output: res.stdout + res.stderr, timedOut };
  }

  async resize(idOrName: string, h: number, w: number): Promise<void> {
    const r = this.store.get(idOrName);
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0 || h > 65535 || w > 65535) throw badRequest(`invalid terminal size ${h}x${w}`);
    if (r.state.status !== 'running') throw conflict(`Container ${r.id} is not running`);
    if (r.config.Tty !== true) return;
    // conmon reads "<type> <height> <width>" lines from ctl; type 1 is a window resize
    const fh = await open(join(this.ctx.dir(r.id), 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
    if (!fh) throw conflict(`Container ${r.id} has no terminal monitor to resize`);
    try {
      await fh.write(`1 ${h} ${w}\n`);
    } finally {
      await fh.close();
    }
  }

  /** GET /containers/{id}/top: the container's processes (from its pids cgroup) as the host's ps sees them. */
  async top(idOrName: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const r = this.store.get(idOrName);
    if (r.state.status !== 'running' && r.state.status !== 'paused') throw conflict(`Container ${r.id} is not running`);
    const procs = (await readCgroupFile('pids', cgroupPath(this.ctx.prefix, r.id), 'cgroup.procs')) ?? '';
    const pids = procs.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l));
    const Titles = ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'];
    if (pids.length === 0) return { Titles, Processes: [] };
    const out = await run('ps', ['-o', 'user:32,pid,ppid,c,stime,tty,time,args', '--no-headers', '-p', pids.join(',')], { timeoutMs: 10_000 });
    const Processes = out.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => {
      const f = l.trim().split(/\s+/);
      return [...f.slice(0, 7), f.slice(7).join(' ')];
    });
    return { Titles, Processes };
  }

  /** One stats sample (precpu from the previous call). */
  async stats(idOrName: string): Promise<DockerStats> {
    const r = this.store.get(idOrName);
    const prev = this.lastStats.get(r.id);
    const s = await sampleStats(r.id, r.name, cgroupPath(this.ctx.prefix, r.id), prev ? { cpu: prev.cpu_stats, read: prev.read } : undefined);
    this.lastStats.set(r.id, s);
    return s;
  }
}
