/**
 * The executor that runs tasks as real containers on the node-local Engine (in process, not over HTTP),
 * as moby's swarm executor does: prepare = image present (pulled when missing) + container created
 * (named `<service>.<slot>.<taskID>`, Docker's swarm labels); start = started and, with a health check,
 * healthy; wait = the exit code, or "unhealthy container"; shutdown = stop with the grace period and stop
 * signal; remove = force-remove with anonymous volumes. A task's container is found by its
 * com.docker.swarm.task.id label, so a restarted agent adopts what is already there.
 */
import { cpus, hostname as osHostname, totalmem } from 'node:os';
import type { Logger } from '../../manager/node/leader-loop.js';
import type { NodeDescription, PortConfig, Task } from '../../manager/store/index.js';
import type { Engine } from '../engine/engine.js';
import type { ContainerRecord } from '../engine/container/types.js';
import type { LogEntry } from '../engine/container/log-reader.js';
import { ensureImage, type PeerSource } from '../engine/image/peer-pull.js';
import { join } from 'node:path';
import { TaskFiles, type TaskDependencies, planTaskFiles } from './task-files.js';
import { KeyedQueue } from '../engine/mutex.js';
import { type NetworkView, addressOf, overlaySpecOf } from '../../manager/dispatcher/network-view.js';
import { type ContainerNetwork, LABEL_TASK_ID, createPlan, expandTaskTemplates, healthDisabled, stopGraceSeconds } from './container-spec.js';
import { type ExitResult, type Executor, ExecutorError, type StartResult, type TaskLogOptions } from './executor.js';

export interface EngineExecutorOptions {
  engine: Engine;
  /** the node's hostname in its description (default: the host's) */
  hostname?: string;
  /** labels the node description carries as engine labels */
  engineLabels?: Record<string, string>;
  log?: Logger;
  /** deadline of one image pull (default 5 minutes) */
  pullTimeoutMs?: number;
  /** other nodes' engines an image missing here (and from its registry) may be fetched from */
  peers?: () => Promise<readonly PeerSource[]> | readonly PeerSource[];
}

const quiet: Logger = { info() {}, warn() {}, error() {}, debug() {} };

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function archOf(a: string): string {
  return a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : a;
}

/** The image reference without a pinned digest (`name:tag@sha256:…` → `name:tag`). */
export function withoutDigest(ref: string): string {
  const at = ref.indexOf('@');
  return at < 0 ? ref : ref.slice(0, at);
}

export class EngineExecutor implements Executor {
  private readonly log: Logger;
  private readonly netQueue = new KeyedQueue();
  /** the newest view of each network not yet applied (a burst of views applies only the last) */
  private readonly pendingViews = new Map<string, NetworkView>();
  private readonly files: TaskFiles;
  private deps: TaskDependencies = { secret: () => undefined, config: () => undefined };

  constructor(private readonly o: EngineExecutorOptions) {
    this.log = o.log ?? quiet;
    this.files = new TaskFiles(join(o.engine.opts.execRoot, 'swarm-files'));
  }

  setDependencies(deps: TaskDependencies): void {
    this.deps = deps;
  }

  get engine(): Engine {
    return this.o.engine;
  }

  describe(): Promise<NodeDescription> {
    const e = this.o.engine;
    return Promise.resolve({
      Hostname: this.o.hostname ?? osHostname(),
      Platform: { Architecture: archOf(process.arch), OS: 'linux' },
      Resources: { NanoCPUs: cpus().length * 1e9, MemoryBytes: totalmem() },
      Engine: {
        EngineVersion: e.opts.version ?? '0.1.0',
        ...(this.o.engineLabels ? { Labels: { ...this.o.engineLabels } } : {}),
        Plugins: [
          { Type: 'Log', Name: 'json-file' },
          { Type: 'Network', Name: 'bridge' },
          { Type: 'Network', Name: 'host' },
          { Type: 'Network', Name: 'null' },
          { Type: 'Network', Name: 'overlay' },
          { Type: 'Volume', Name: 'local' },
        ],
      },
    });
  }

  // ---- lookup -------------------------------------------------------------------------------------

  /** The container of a task (by label), or undefined. */
  containerOf(taskId: string): ContainerRecord | undefined {
    for (const r of this.o.engine.manager.store.all()) if (r.config.Labels?.[LABEL_TASK_ID] === taskId) return r;
    return undefined;
  }

  /** Every swarm task container on this engine: task ID → container record. */
  taskContainers(): Map<string, ContainerRecord> {
    const out = new Map<string, ContainerRecord>();
    for (const r of this.o.engine.manager.store.all()) {
      const id = r.config.Labels?.[LABEL_TASK_ID];
      if (id) out.set(id, r);
    }
    return out;
  }

  // ---- prepare ------------------------------------------------------------------------------------

  /**
   * The reference that resolves locally, fetched when missing (the registry, then the peer nodes the
   * swarm names — engine/image/peer-pull's ensureImage, which also shares one pull among tasks);
   * Docker's "No such image" when it cannot be had.
   */
  private async ensureImage(ref: string): Promise<string> {
    const images = this.o.engine.images;
    if (images.resolve(ref)) return ref;
    const plain = withoutDigest(ref);
    if (plain !== ref && images.resolve(plain)) return plain;
    try {
      await ensureImage(images, ref, {
        registry: { timeoutMs: this.o.pullTimeoutMs ?? 300_000 },
        ...(this.o.peers ? { peers: this.o.peers } : {}),
      });
    } catch (e) {
      // as moby: a failed pull is only logged; the task fails on the missing image
      this.log.warn({ image: ref, err: messageOf(e) }, 'image pull failed');
      if (images.resolve(ref)) return ref;
      throw new ExecutorError(`No such image: ${ref}`, true, { cause: e });
    }
    if (images.resolve(ref)) return ref;
    if (plain !== ref && images.resolve(plain)) return plain;
    throw new ExecutorError(`No such image: ${ref}`);
  }

  async prepare(original: Task): Promise<void> {
    const image = await this.ensureImage(original.Spec.ContainerSpec.Image);
    if (this.containerOf(original.ID)) return; // adopted: created before an agent restart
    const task = expandTaskTemplates(original, { hostname: this.o.hostname ?? osHostname(), architecture: archOf(process.arch) });
    const networks = await this.taskNetworks(task);
    const plan = createPlan(task, networks);
    plan.body.Image = image;
    // secrets and configs: files on a tmpfs of the task's, bound read-only at their targets
    const fileMounts = await this.files.materialize(task.ID, planTaskFiles(task, this.deps));
    if (fileMounts.length) plan.body.HostConfig = { ...plan.body.HostConfig, Mounts: [...(plan.body.HostConfig?.Mounts ?? []), ...fileMounts] };
    try {
      await this.o.engine.manager.create(plan.body, plan.name);
    } catch (e) {
      // a create that raced with another one for the same task (same name) adopts it
      if (this.containerOf(task.ID)) return;
      await this.files.release(task.ID);
      throw new ExecutorError(messageOf(e), true, { cause: e });
    }
  }

  // ---- overlay networks ---------------------------------------------------------------------------

  /**
   * The overlays a task is attached to, made to exist on this engine (the task carries each network
   * with its VXLAN ID and subnet, so a task never waits for a network view), with the task's address
   * and its network aliases.
   */
  private async taskNetworks(task: Task): Promise<ContainerNetwork[]> {
    const out: ContainerNetwork[] = [];
    for (const a of task.NetworksAttachments ?? []) {
      const spec = overlaySpecOf(a.Network);
      if (!spec) continue;
      try {
        await this.o.engine.networks.ensureOverlay(spec);
      } catch (e) {
        throw new ExecutorError(`network ${spec.name}: ${messageOf(e)}`, true, { cause: e });
      }
      const aliases = (task.Spec.Networks ?? []).filter((n) => n.Target === spec.id || n.Target === spec.name).flatMap((n) => n.Aliases ?? []);
      const address = addressOf(a.Addresses[0]);
      out.push({ network: spec.id, ...(address ? { address } : {}), aliases, ...(spec.internal ? { internal: true } : {}) });
    }
    return out;
  }

  /**
   * Programs what the swarm knows of an overlay on this engine: the network, its remote peers (VXLAN
   * forwarding entries), the names its DNS answers and its VIPs. Views of one network apply in order;
   * of a burst, only the newest.
   */
  applyNetwork(view: NetworkView): Promise<void> {
    const id = view.network.id;
    const queued = this.pendingViews.has(id);
    this.pendingViews.set(id, view);
    if (queued) return Promise.resolve();
    return this.netQueue.serialize(id, async () => {
      const v = this.pendingViews.get(id);
      this.pendingViews.delete(id);
      if (!v) return;
      const nets = this.o.engine.networks;
      try {
        await nets.ensureOverlay(v.network);
        await nets.setOverlayPeers(id, v.peers);
        await nets.setOverlayRecords(id, v.records);
        await nets.setServiceVips(id, v.vips);
        if (v.ingress) {
          // the routing mesh: this node's own ingress address is the one listed under its underlay address
          const me = v.ingress.nodes.find((x) => x.vtep === nets.opts.overlayLocalAddr);
          const ports = v.ingress.ports.map((p) => ({ proto: p.protocol, publishedPort: p.publishedPort, targetPort: p.targetPort, vip: p.vip }));
          await nets.setIngress(id, { ...(me ? { address: me.ip } : {}), ports });
        }
      } catch (e) {
        this.log.warn({ network: id, err: messageOf(e) }, 'applying the network view failed');
        throw e;
      }
    });
  }

  /**
   * The address the swarm gave this node is the VXLAN source of its overlays (peers send to it). Set
   * on the engine's network options until the engine has a setter of its own.
   */
  setNodeAddress(addr: string): void {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return;
    const opts = this.o.engine.networks.opts;
    if (opts.overlayLocalAddr === addr) return;
    if (opts.overlayLocalAddr) this.log.warn({ from: opts.overlayLocalAddr, to: addr }, 'overlay source address changed');
    opts.overlayLocalAddr = addr;
  }

  /** Removes an overlay this node no longer has tasks on (kept while a container still uses it). */
  removeNetwork(id: string): Promise<void> {
    this.pendingViews.delete(id);
    return this.netQueue.serialize(id, async () => {
      const nets = this.o.engine.networks;
      const n = nets.list().find((x) => x.Id === id);
      if (!n || n.Driver !== 'overlay' || nets.endpointCount(id) > 0) return;
      await nets.remove(id).catch((e: unknown) => this.log.warn({ network: id, err: messageOf(e) }, 'removing an unused overlay failed'));
    });
  }

  /** After a complete set: overlays the swarm no longer gives this node are removed when unused. */
  async pruneNetworks(keep: ReadonlySet<string>): Promise<void> {
    for (const n of this.o.engine.networks.list()) {
      if (n.Driver === 'overlay' && n.Scope === 'swarm' && !keep.has(n.Id)) await this.removeNetwork(n.Id);
    }
  }

  // ---- start, health, wait ------------------------------------------------------------------------

  private require(task: Task): ContainerRecord {
    const r = this.containerOf(task.ID);
    if (!r) throw new ExecutorError(`No such container: ${task.ID}`);
    return r;
  }

  private portStatus(containerId: string): PortConfig[] {
    const att = this.o.engine.networks.getAttachment(containerId);
    return (att?.ports ?? []).map((p) => ({ Protocol: p.proto, TargetPort: p.containerPort, PublishedPort: p.hostPort, PublishMode: 'host' as const }));
  }

  private healthChecked(r: ContainerRecord): boolean {
    const test = r.config.Healthcheck?.Test;
    return Array.isArray(test) && test.length > 0 && !healthDisabled(test);
  }

  async start(task: Task): Promise<StartResult> {
    const r = this.require(task);
    const m = this.o.engine.manager;
    // an exited container that already ran is not started again: wait() reports how it ended
    if (r.state.status !== 'running' && !(r.hasBeenStarted && r.state.status === 'exited')) {
      try {
        await m.start(r.id);
      } catch (e) {
        throw new ExecutorError(messageOf(e), true, { cause: e });
      }
    }
    if (this.healthChecked(r)) await this.untilHealthy(r.id, stopGraceSeconds(task));
    const cur = m.store.find(r.id) ?? r;
    const ports = this.portStatus(r.id);
    return { containerId: r.id, ...(cur.state.pid ? { pid: cur.state.pid } : {}), ...(ports.length ? { ports } : {}) };
  }

  /**
   * Resolves when the container is healthy or has exited (wait() then reports the exit); rejects with
   * moby's "unhealthy container" when the check fails, after stopping the container.
   */
  private untilHealthy(id: string, graceSeconds: number): Promise<void> {
    const e = this.o.engine;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        unsubscribe();
        if (err) reject(err);
        else resolve();
      };
      const check = (): void => {
        const r = e.manager.store.find(id);
        if (!r || r.state.status !== 'running') return finish();
        const h = r.state.health?.Status;
        if (h === 'healthy') finish();
        else if (h === 'unhealthy') finish(new ExecutorError('unhealthy container'));
      };
      const unsubscribe = e.events.subscribe({}, (ev) => {
        if (ev.Type === 'container' && ev.Actor.ID === id && (ev.Action.startsWith('health_status') || ev.Action === 'die' || ev.Action === 'destroy')) check();
      });
      check();
    }).catch(async (err: unknown) => {
      await e.manager.stop(id, { t: graceSeconds }).catch(() => undefined);
      throw err;
    });
  }

  async wait(task: Task): Promise<ExitResult> {
    const r = this.require(task);
    const m = this.o.engine.manager;
    const exit = m.wait(r.id, 'not-running');
    if (!this.healthChecked(r) || r.state.status !== 'running') return this.exitResult(r.id, await exit);
    // while it runs, a failing health check ends the task (the container is stopped first, as moby does)
    let unsubscribe = (): void => undefined;
    const unhealthy = new Promise<'unhealthy'>((resolve) => {
      unsubscribe = this.o.engine.events.subscribe({}, (ev) => {
        if (ev.Type === 'container' && ev.Actor.ID === r.id && ev.Action === 'health_status: unhealthy') resolve('unhealthy');
      });
    });
    try {
      const first = await Promise.race([exit, unhealthy]);
      if (first === 'unhealthy') {
        await m.stop(r.id, { t: stopGraceSeconds(task) }).catch(() => undefined);
        throw new ExecutorError('unhealthy container');
      }
      return this.exitResult(r.id, first);
    } finally {
      unsubscribe();
    }
  }

  private exitResult(id: string, w: { StatusCode: number; Error?: { Message: string } }): ExitResult {
    const r = this.o.engine.manager.store.find(id);
    const message = r?.state.oomKilled ? 'OOM killed' : w.Error?.Message;
    return { exitCode: w.StatusCode, containerId: id, ...(message ? { message } : {}) };
  }

  // ---- shutdown and remove ------------------------------------------------------------------------

  async shutdown(task: Task): Promise<void> {
    const r = this.containerOf(task.ID);
    if (!r || (r.state.status !== 'running' && r.state.status !== 'restarting' && r.state.status !== 'paused')) return;
    try {
      if (r.state.status === 'paused') await this.o.engine.manager.unpause(r.id);
      await this.o.engine.manager.stop(r.id, { t: stopGraceSeconds(task) });
    } catch (e) {
      if (!this.o.engine.manager.store.find(r.id)) return;
      throw new ExecutorError(messageOf(e), true, { cause: e });
    }
  }

  async remove(task: Task): Promise<void> {
    await this.removeContainerOf(task.ID);
  }

  private async removeContainerOf(taskId: string): Promise<void> {
    const r = this.containerOf(taskId);
    if (r) {
      try {
        await this.o.engine.manager.remove(r.id, { force: true, v: true });
      } catch (e) {
        if (this.o.engine.manager.store.find(r.id)) throw new ExecutorError(messageOf(e), true, { cause: e });
      }
    }
    await this.files.release(taskId);
  }

  isRunning(task: Task): Promise<boolean> {
    const s = this.containerOf(task.ID)?.state.status;
    return Promise.resolve(s === 'running' || s === 'restarting' || s === 'paused');
  }

  /** Removes the containers of swarm tasks that are not in `keep` (tasks no longer assigned here). */
  async prune(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const [taskId, r] of this.taskContainers()) {
      if (keep.has(taskId)) continue;
      try {
        await this.o.engine.manager.remove(r.id, { force: true, v: true });
        removed.push(taskId);
        this.log.info({ task: taskId, container: r.id }, 'removed the container of a task no longer assigned to this node');
      } catch (e) {
        this.log.warn({ task: taskId, container: r.id, err: messageOf(e) }, 'removing an unassigned task container failed');
      }
    }
    // secret/config tmpfs of tasks gone (including ones whose container never got created)
    for (const taskId of await this.files.tasks()) if (!keep.has(taskId)) await this.files.release(taskId).catch(() => undefined);
    return removed;
  }

  /** The task's container log (docker service logs reads it through the agent). */
  logs(task: Task, o: TaskLogOptions = {}): AsyncIterable<LogEntry> {
    const r = this.require(task);
    return this.o.engine.manager.io.logs(r.id, {
      ...(o.follow !== undefined ? { follow: o.follow } : {}),
      stdout: o.stdout ?? true,
      stderr: o.stderr ?? true,
      ...(o.since !== undefined ? { since: o.since } : {}),
      ...(o.tail !== undefined ? { tail: o.tail } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }
}
