/**
 * ContainerManager: Docker's container lifecycle on an OCI runtime under conmon. Containers outlive the
 * manager; open() reattaches to running ones and records exits that happened while it was down.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { mountSnapshot, removeSnapshot, snapshotPaths } from '../snapshot/overlay-snapshot.js';
import { exportRootfs, getArchive, putArchive, statPath, type PathStat } from './container-archive.js';
import { join } from 'node:path';
import { attachSocketPath, processAlive, readExitFile } from '../runtime/conmon.js';
import type { RuntimeName, OciRuntime } from '../runtime/oci-runtime.js';
import { probeRuntime } from '../runtime/runtime-probe.js';
import type { VolumeStore } from '../volume/volume-store.js';
import { ContainerIo, type AttachHandle, type AttachOptions } from './container-io.js';
import type { DockerStats } from './container-stats.js';
import type { ExecCreateBody, ExecHandle, ExecInspect } from './exec-session.js';
import { cgroupParent, logPathOf, readOomKilled, releaseAfterExit, startContainer, teardown, type RunnerContext, type TeardownState } from './container-runner.js';
import { ContainerStore, validateName } from './container-store.js';
import { inspectView, listFilterMatches, listRow } from './container-view.js';
import { createContainer } from './create-container.js';
import { imageRunConfig, validateBody } from './create-plan.js';
import { asEngineError, conflict, EngineError } from './errors.js';
import { containerEvent } from './container-event.js';
import { ExitWaiters, settlesWithin } from './exit-waiters.js';
import { ExitWatcher } from './exit-watcher.js';
import { HealthMonitor, healthPlan } from './health-monitor.js';
import { KeyedLock } from './keyed-lock.js';
import { decideRestart } from './restart-policy.js';
import type { ContainerCreateBody, ContainerEvent, ContainerImages, ContainerNetworking, ContainerRecord } from './types.js';

export interface ContainerManagerOptions {
  dataRoot: string;
  execRoot: string;
  /** short per-engine prefix of kernel object names */
  prefix: string;
  runtime?: RuntimeName;
  images: ContainerImages;
  networks: ContainerNetworking;
  volumes: VolumeStore;
  emit?: (e: ContainerEvent) => void;
  /** exit-dir poll fallback (default 1000 ms) */
  exitPollMs?: number;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Run-time state transitions are written without fsync (ContainerStore.save says why). */
const TRANSITION = { durable: false } as const;

export class ContainerManager {
  readonly io: ContainerIo;
  private readonly lock = new KeyedLock();
  private readonly waiters = new ExitWaiters();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly lastDelay = new Map<string, number>();
  private readonly health = new Map<string, HealthMonitor>();
  /** exited containers whose runtime state, cgroup and network are already released */
  private readonly released = new Set<string>();
  /** exited --rm containers on their way to removal (released by the removal itself) */
  private readonly autoRemoving = new Set<string>();
  private readonly watcher: ExitWatcher;
  private closed = false;

  private constructor(
    private readonly opts: ContainerManagerOptions,
    readonly runtime: OciRuntime,
    readonly store: ContainerStore,
    private readonly ctx: RunnerContext,
  ) {
    this.watcher = new ExitWatcher(ctx.exitDir, (id, code) => void this.handleExit(id, code), opts.exitPollMs ?? 1000);
    this.io = new ContainerIo(store, runtime, ctx, (id) => this.nextExit(id), (id) => this.waiters.nextStart(id));
  }

  static async open(opts: ContainerManagerOptions): Promise<ContainerManager> {
    const x = opts.execRoot;
    const exitDir = join(x, 'exits');
    const socketDir = join(x, 's');
    for (const d of [exitDir, socketDir, join(x, 'runtime')]) await mkdir(d, { recursive: true });
    if (Buffer.byteLength(attachSocketPath(socketDir, '0'.repeat(64))) > 107) {
      throw new EngineError(500, `exec root ${x} is too long: attach sockets under it would exceed the 108-byte unix socket path limit`);
    }
    const runtime = await probeRuntime({ root: join(x, 'runtime'), scratchDir: join(x, 'probe'), cgroupParent: cgroupParent(opts.prefix), ...(opts.runtime ? { force: opts.runtime } : {}) });
    const store = await ContainerStore.open(join(opts.dataRoot, 'containers'));
    const ctx: RunnerContext = {
      runtime,
      networks: opts.networks,
      prefix: opts.prefix,
      exitDir,
      socketDir,
      swapAccounting: existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
      dir: (id) => store.dir(id),
    };
    const m = new ContainerManager(opts, runtime, store, ctx);
    opts.volumes.setUsageProvider((name) => store.all().filter((r) => r.mounts.some((mt) => mt.type === 'volume' && mt.source === name)).map((r) => r.id));
    await m.recover();
    return m;
  }

  /** Cleans interrupted creates, reattaches to live containers, records exits missed while down. */
  private async recover(): Promise<void> {
    for (const d of await this.store.orphanDirs()) {
      await removeSnapshot(this.store.dir(d)).catch(() => undefined);
      await rm(this.store.dir(d), { recursive: true, force: true });
    }
    this.watcher.start();
    for (const r of this.store.all()) {
      if (r.state.status === 'removing') {
        await this.remove(r.id, { force: true }).catch(() => undefined);
      } else if (r.state.status === 'running' || r.state.status === 'paused') {
        const code = await readExitFile(this.ctx.exitDir, r.id);
        if (code !== undefined) await this.handleExit(r.id, code);
        else if (processAlive(r.state.conmonPid)) {
          this.watcher.add(r.id);
          this.startHealth(r);
        } else {
          r.state.error = 'the container monitor (conmon) was gone when the engine restarted';
          await this.handleExit(r.id, 255);
        }
      } else if (r.state.status === 'restarting') {
        this.scheduleRestart(r.id, 100);
      }
    }
  }

  private event(action: string, r: ContainerRecord, extra: Record<string, string> = {}): void {
    try {
      this.opts.emit?.(containerEvent(action, r, extra));
    } catch {
      // a subscriber's failure is not the container's
    }
  }

  resolveContainer(idOrName: string): ContainerRecord {
    return this.store.get(idOrName);
  }

  /** Whether any container (any state) was created from the image (for image removal). */
  usesImage(imageId: string): boolean {
    return this.store.all().some((r) => r.imageId === imageId);
  }

  async create(body: ContainerCreateBody, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    validateBody(body);
    const cname = name && name !== '' ? validateName(name) : `shoal_${randomBytes(5).toString('hex')}`;
    this.store.reserveName(cname);
    try {
      const r = await createContainer(body, cname, { store: this.store, images: this.opts.images, volumes: this.opts.volumes });
      this.event('create', r);
      return { Id: r.id, Warnings: [] };
    } finally {
      this.store.releaseName(cname);
    }
  }

  /** Starts a created or exited container; false when it was already running (Docker's 304). */
  async start(idOrName: string): Promise<boolean> {
    const r0 = this.store.get(idOrName);
    let startFailed = false;
    try {
      return await this.lock.run(r0.id, async () => {
        const r = this.store.get(r0.id);
        if (r.state.status === 'running') return false;
        if (r.state.status === 'removing' || r.state.status === 'dead' || this.autoRemoving.has(r.id)) throw conflict(`container ${r.id} is marked for removal and cannot be started`);
        this.cancelRestart(r.id);
        r.manualStop = false;
        startFailed = true;
        await this.doStart(r);
        startFailed = false;
        return true;
      });
    } catch (e) {
      // Docker removes an AutoRemove (--rm) container whose start failed before answering, so a
      // client waiting for condition=removed is released and nothing is left behind.
      if (startFailed && r0.config.HostConfig?.AutoRemove) await this.remove(r0.id, { force: true, v: true }).catch(() => undefined);
      throw e;
    }
  }

  private async doStart(r: ContainerRecord): Promise<void> {
    this.released.delete(r.id);
    let h: { pid: number; conmonPid: number };
    try {
      h = await startContainer(this.ctx, r);
    } catch (e) {
      const err = asEngineError(e);
      r.state = { ...r.state, status: r.hasBeenStarted ? 'exited' : 'created', error: err.message, exitCode: r.hasBeenStarted ? 128 : 0 };
      await this.store.save(r, TRANSITION);
      throw err;
    }
    const plan = healthPlan(r.config.Healthcheck, undefined);
    r.state = {
      status: 'running',
      pid: h.pid,
      conmonPid: h.conmonPid,
      exitCode: 0,
      error: '',
      oomKilled: false,
      startedAt: new Date().toISOString(),
      finishedAt: r.state.finishedAt,
      ...(plan ? { health: { Status: 'starting' as const, FailingStreak: 0, Log: [] } } : {}),
    };
    r.hasBeenStarted = true;
    await this.store.save(r, TRANSITION);
    this.watcher.add(r.id);
    this.startHealth(r);
    this.waiters.started(r.id);
    this.event('start', r);
  }

  private startHealth(r: ContainerRecord): void {
    const plan = healthPlan(r.config.Healthcheck, undefined);
    if (!plan || this.health.has(r.id)) return;
    const state = r.state.health ?? { Status: 'starting' as const, FailingStreak: 0, Log: [] };
    const mon = new HealthMonitor(plan, state, (cmd, t) => this.io.probe(r.id, cmd, t), (s, changed) => {
      const cur = this.store.find(r.id);
      if (!cur || cur.state.status !== 'running') return;
      cur.state.health = s;
      void this.store.save(cur, TRANSITION).catch(() => undefined);
      if (changed) this.event(`health_status: ${s.Status}`, cur);
    });
    this.health.set(r.id, mon);
    mon.start();
  }

  private stopHealth(id: string): void {
    this.health.get(id)?.stop();
    this.health.delete(id);
  }

  /** Resolves at the container's next exit with its code. */
  nextExit(id: string): Promise<number> {
    return this.waiters.nextExit(id);
  }

  private async handleExit(id: string, code: number): Promise<void> {
    await this.lock.run(id, async () => {
      const r = this.store.find(id);
      if (!r || (r.state.status !== 'running' && r.state.status !== 'paused' && r.state.status !== 'removing')) return;
      this.stopHealth(id);
      const oom = await readOomKilled(this.ctx, id, code);
      const ranMs = Date.now() - Date.parse(r.state.startedAt || new Date().toISOString());
      const decision = decideRestart(r.config.HostConfig?.RestartPolicy, { exitCode: code, manualStop: r.manualStop, restartCount: r.restartCount, ranMs, lastDelayMs: this.lastDelay.get(id) ?? 0 });
      const removing = r.state.status === 'removing';
      r.state = { ...r.state, status: removing ? 'removing' : decision.restart ? 'restarting' : 'exited', pid: 0, exitCode: code, oomKilled: oom, finishedAt: new Date().toISOString() };
      if (r.state.health && !decision.restart) r.state.health = { ...r.state.health, Status: 'unhealthy' };
      // waiters first, then the write: the record in memory already says what they will read, and a
      // daemon killed in between finds the exit file again on restart
      if (oom) this.event('oom', r);
      this.event('die', r, { exitCode: String(code) });
      this.waiters.exited(id, code);
      await this.store.save(r, TRANSITION);
      if (!removing && !decision.restart && r.config.HostConfig?.AutoRemove) {
        // --rm: the removal releases the runtime state and network side by side with the unmount
        this.autoRemoving.add(id);
        void this.remove(id, { force: true, v: true }).catch(() => undefined).finally(() => this.autoRemoving.delete(id));
        return;
      }
      // the exit is recorded and waiters are answered first; the runtime state, cgroup and network go
      // next, still under the container's lock, so a start or remove that follows waits for them
      await releaseAfterExit(this.ctx, id);
      this.released.add(id);
      if (removing) return;
      if (decision.restart) {
        this.lastDelay.set(id, decision.delayMs);
        this.scheduleRestart(id, decision.delayMs);
      }
    });
  }

  private scheduleRestart(id: string, delayMs: number): void {
    if (this.closed) return;
    this.cancelRestart(id);
    const t = setTimeout(() => {
      this.restartTimers.delete(id);
      void this.lock.run(id, async () => {
        const r = this.store.find(id);
        if (!r || r.state.status !== 'restarting') return;
        r.restartCount++;
        await this.doStart(r).catch(() => undefined);
        if (this.store.find(id)?.state.status === 'running') this.event('restart', r);
      });
    }, delayMs);
    t.unref();
    this.restartTimers.set(id, t);
  }

  private cancelRestart(id: string): boolean {
    const t = this.restartTimers.get(id);
    if (t) clearTimeout(t);
    return this.restartTimers.delete(id);
  }

  /** Stops with StopSignal (default SIGTERM), then SIGKILL after `t` seconds; false when not running (304). */
  async stop(idOrName: string, o: { t?: number; signal?: string } = {}): Promise<boolean> {
    const r = this.store.get(idOrName);
    if (r.state.status === 'restarting') {
      this.cancelRestart(r.id);
      await this.lock.run(r.id, async () => {
        r.manualStop = true;
        r.state.status = 'exited';
        await this.store.save(r);
      });
      return true;
    }
    if (r.state.status === 'paused') throw conflict(`Container ${r.id} is paused. Unpause the container before stopping or killing`);
    if (r.state.status !== 'running') return false;
    r.manualStop = true;
    await this.store.save(r);
    const exited = this.nextExit(r.id);
    const sig = o.signal ?? r.config.StopSignal ?? 'SIGTERM';
    const t = o.t ?? r.config.StopTimeout ?? 10;
    await this.runtime.kill(r.id, sig);
    if (t < 0 || !(await settlesWithin(exited, t * 1000))) {
      await this.runtime.kill(r.id, 'SIGKILL', true);
      if (!(await settlesWithin(exited, 30_000))) throw new EngineError(500, `container ${r.id} did not exit after SIGKILL`);
    }
    this.event('stop', r);
    return true;
  }

  async kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    const r = this.store.get(idOrName);
    if (r.state.status === 'paused') throw conflict(`Container ${r.id} is paused. Unpause the container before stopping or killing`);
    if (r.state.status !== 'running') throw conflict(`Cannot kill container: ${idOrName}: Container ${r.id} is not running`);
    if (!/^(SIG)?[A-Z0-9+-]+$|^\d+$/.test(signal)) throw new EngineError(400, `Invalid signal: ${signal}`);
    r.manualStop = true;
    await this.store.save(r);
    const res = await this.runtime.kill(r.id, signal);
    if (res.code !== 0) throw new EngineError(/not running|stopped/i.test(res.stderr) ? 409 : 500, `kill ${r.id}: ${res.stderr.trim()}`);
    this.event('kill', r, { signal });
  }

  /** Freezes every process of the container (cgroup freezer). */
  async pause(idOrName: string): Promise<void> {
    const r = this.store.get(idOrName);
    await this.lock.run(r.id, async () => {
      if (r.state.status === 'paused') throw conflict(`Container ${r.id} is already paused`);
      if (r.state.status !== 'running') throw conflict(`Container ${r.id} is not running`);
      await this.runtime.pause(r.id).catch((e: unknown) => { throw asEngineError(e); });
      r.state.status = 'paused';
      await this.store.save(r);
      this.event('pause', r);
    });
  }

  async unpause(idOrName: string): Promise<void> {
    const r = this.store.get(idOrName);
    await this.lock.run(r.id, async () => {
      if (r.state.status !== 'paused') throw conflict(`Container ${r.id} is not paused`);
      await this.runtime.resume(r.id).catch((e: unknown) => { throw asEngineError(e); });
      r.state.status = 'running';
      await this.store.save(r);
      this.event('unpause', r);
    });
  }

  async restart(idOrName: string, o: { t?: number; signal?: string } = {}): Promise<void> {
    const r = this.store.get(idOrName);
    await this.stop(r.id, o);
    await this.start(r.id);
    this.event('restart', r);
  }

  async remove(idOrName: string, o: { force?: boolean; v?: boolean } = {}): Promise<void> {
    const r = this.store.get(idOrName);
    const live = r.state.status === 'running' || r.state.status === 'restarting' || r.state.status === 'paused';
    if (live && !o.force) throw conflict(`You cannot remove a running container ${r.id}. Stop the container before attempting removal or force remove`);
    this.cancelRestart(r.id);
    if (r.state.status === 'paused') {
      await this.runtime.kill(r.id, 'SIGKILL', true);
      await this.runtime.resume(r.id).catch(() => undefined);
      r.state.status = 'running';
    }
    if (r.state.status === 'running') {
      r.manualStop = true;
      const exited = this.nextExit(r.id);
      await this.runtime.kill(r.id, 'SIGKILL', true);
      await settlesWithin(exited, 15_000);
    }
    await this.lock.run(r.id, async () => {
      if (!this.store.find(r.id)) return;
      const state: TeardownState = this.released.has(r.id) ? 'released' : r.state.status === 'exited' ? 'exited' : 'unknown';
      r.state.status = 'removing';
      await this.store.save(r, TRANSITION);
      this.watcher.remove(r.id);
      this.stopHealth(r.id);
      await Promise.all([teardown(this.ctx, r.id, state), rm(join(this.ctx.exitDir, r.id), { force: true })]);
      await this.store.delete(r.id);
      this.released.delete(r.id);
      this.lastDelay.delete(r.id);
      if (o.v) {
        for (const m of r.mounts) {
          if (m.type === 'volume' && this.opts.volumes.isAnonymous(m.source)) await this.opts.volumes.remove(m.source).catch(() => undefined);
        }
      }
      this.event('destroy', r);
      this.waiters.gone(r.id, r.state.exitCode);
    });
  }

  /** Docker's POST /containers/{id}/wait. */
  async wait(idOrName: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error?: { Message: string } }> {
    const r = this.store.get(idOrName);
    const result = (): { StatusCode: number; Error?: { Message: string } } => ({ StatusCode: r.state.exitCode, ...(r.state.error ? { Error: { Message: r.state.error } } : {}) });
    if (condition === 'removed') {
      await this.waiters.removed(r.id);
      return result();
    }
    if (condition === 'not-running' && !['running', 'restarting', 'paused'].includes(r.state.status)) return result();
    await this.nextExit(r.id);
    return result();
  }

  inspect(idOrName: string): Record<string, unknown> {
    const r = this.store.get(idOrName);
    const img = this.opts.images.resolve(r.imageId);
    return inspectView(r, { attachment: this.opts.networks.getAttachment?.(r.id), dir: this.store.dir(r.id), logPath: logPathOf(this.store.dir(r.id)), driver: this.runtime.name, ...(img ? { imageExposed: imageRunConfig(img).ExposedPorts } : {}) });
  }

  list(o: { all?: boolean; limit?: number; filters?: Record<string, string[]> } = {}): Record<string, unknown>[] {
    let rows = this.store.all()
      .filter((r) => o.all || r.state.status === 'running' || r.state.status === 'restarting' || r.state.status === 'paused')
      .filter((r) => listFilterMatches(r, o.filters ?? {}))
      .sort((a, b) => b.created.localeCompare(a.created));
    if (o.limit && o.limit > 0) rows = rows.slice(0, o.limit);
    return rows.map((r) => listRow(r, { attachment: this.opts.networks.getAttachment?.(r.id) }));
  }

  // the container's I/O, as the engine contract names it (ContainerIo holds the code)
  logs(idOrName: string, o: Parameters<ContainerIo['logs']>[1] = {}): ReturnType<ContainerIo['logs']> { return this.io.logs(idOrName, o); }
  attach(idOrName: string, o: AttachOptions = {}): Promise<AttachHandle> { return this.io.attach(idOrName, o); }
  execCreate(idOrName: string, body: ExecCreateBody): { Id: string } { return this.io.execCreate(idOrName, body); }
  execStart(execId: string, o: { detach?: boolean; tty?: boolean } = {}): Promise<ExecHandle> { return this.io.execStart(execId, o); }
  execInspect(execId: string): ExecInspect { return this.io.execInspect(execId); }
  stats(idOrName: string): Promise<DockerStats> { return this.io.stats(idOrName); }
  top(idOrName: string): Promise<{ Titles: string[]; Processes: string[][] }> { return this.io.top(idOrName); }
  /** docker cp out / in, docker export (the rootfs is mounted from create until remove). */
  async getArchive(idOrName: string, path: string): Promise<{ stat: PathStat; stream: Readable }> { return getArchive(await this.rootfsOf(idOrName), path); }
  async statPath(idOrName: string, path: string): Promise<PathStat> { return statPath(await this.rootfsOf(idOrName), path); }
  async putArchive(idOrName: string, path: string, tar: Readable): Promise<void> { return putArchive(await this.rootfsOf(idOrName), path, tar); }
  async export(idOrName: string): Promise<Readable> { return exportRootfs(await this.rootfsOf(idOrName)); }
  private async rootfsOf(idOrName: string): Promise<string> {
    const dir = this.store.dir(this.store.get(idOrName).id);
    await mountSnapshot(dir); // after a host reboot an exited container's overlay is not mounted
    return snapshotPaths(dir).rootfs;
  }

  /** Renames a container (409 when the name is taken). */
  async rename(idOrName: string, newName: string): Promise<void> {
    const r = this.store.get(idOrName);
    const name = validateName(newName);
    if (name === r.name) return;
    this.store.reserveName(name);
    try {
      const old = r.name;
      r.name = name;
      await this.store.save(r);
      this.event('rename', r, { oldName: `/${old}` });
    } finally {
      this.store.releaseName(name);
    }
  }

  /** Resizes a Tty container's terminal (conmon's ctl FIFO); a no-op for others, as in Docker. */
  resize(idOrName: string, h: number, w: number): Promise<void> { return this.io.resize(idOrName, h, w); }

  /** Stops watchers and timers; containers keep running. */
  close(): void {
    this.closed = true;
    this.watcher.close();
    for (const id of [...this.health.keys()]) this.stopHealth(id);
    for (const id of [...this.restartTimers.keys()]) this.cancelRestart(id);
  }
}
