/**
 * The node-local engine: wires the image store (E1), volumes and containers (E2), networks (E3) and the
 * event bus together, with the data layout of DESIGN.md (`--data-root` D, `--exec-root` X).
 *
 */
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { EventBus } from './events.js';
import { ContainerManager } from './container/container-manager.js';
import type { ExecCreateBody } from './container/exec-session.js';
import type { ContainerCreateBody, ContainerEvent } from './container/types.js';
import { ImageStore, toDockerInspect, toDockerSummary, type ImageRecord } from './image/index.js';
import { NetworkManager } from './network/index.js';
import { VolumeStore } from './volume/volume-store.js';
import type { ContainerPort, EngineApiDeps } from './api/ports.js';
import { containerTop } from './api/container-top.js';
import { cgroupParent, cgroupPath } from './container/container-runner.js';
import { removeCgroup } from './runtime/cgroups.js';
import { buildImagesOf } from './build/build-images.js';

export interface EngineLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  /** short per-engine prefix of every kernel object name ([a-z0-9]{1,7}) */
  prefix: string;
  runtime?: 'crun' | 'runc';
  mtu?: number;
  defaultBridgeSubnet?: string;
  logger?: EngineLogger;
  version?: string;
  name?: string;
  /** this host's underlay address, the source of its VXLAN traffic (needed for swarm overlay networks) */
  overlayLocalAddr?: string;
  /** netns holding the engine's bridges, NAT rules and published ports (tests); default: ours */
  hostNetns?: string;
  /** resolvers the embedded DNS forwards to; default: the host's */
  dnsUpstreams?: string[];
}

export class EngineOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineOpenError';
  }
}

const silent: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** ContainerManager (lifecycle) + its ContainerIo (logs, attach, exec, stats) as the API's ContainerPort. */
export function containerPort(m: ContainerManager, prefix: string): ContainerPort {
  return {
    create: (config, name) => m.create(config as ContainerCreateBody, name),
    start: (id) => m.start(id),
    stop: (id, o) => m.stop(id, o),
    kill: (id, signal) => m.kill(id, signal),
    restart: (id, o) => m.restart(id, o),
    remove: (id, o) => m.remove(id, { force: o.force, v: o.v }),
    wait: (id, condition) => m.wait(id, condition),
    inspect: (id) => m.inspect(id),
    list: (o) => m.list({ all: o.all, ...(o.limit ? { limit: o.limit } : {}), filters: Object.fromEntries(o.filters) }),
    logs: (id, o) => m.io.logs(id, { follow: o.follow, stdout: o.stdout, stderr: o.stderr, ...(o.since !== undefined ? { since: o.since } : {}), ...(o.until !== undefined ? { until: o.until } : {}), ...(typeof o.tail === 'number' ? { tail: o.tail } : {}) }),
    attach: (id, o) => m.io.attach(id, o),
    execCreate: (id, body) => m.io.execCreate(id, body as ExecCreateBody),
    execStart: (execId, o) => m.io.execStart(execId, o),
    execInspect: (execId) => m.io.execInspect(execId),
    stats: (id) => m.io.stats(id),
    resolveContainer: (idOrName) => m.resolveContainer(idOrName),
    imageInUse: (imageId) => m.usesImage(imageId),
    top: (id, psArgs) => containerTop(cgroupPath(prefix, m.resolveContainer(id).id), psArgs),
    pause: (id) => m.pause(id),
    unpause: (id) => m.unpause(id),
    statPath: (id, path) => m.statPath(id, path),
    getArchive: (id, path) => m.getArchive(id, path),
    putArchive: (id, path, tar) => m.putArchive(id, path, tar as Readable),
    export: (id) => m.export(id),
    rename: (id, name) => m.rename(id, name),
  };
}

export class Engine {
  private closed = false;

  private constructor(
    readonly opts: EngineOptions,
    readonly events: EventBus,
    readonly networks: NetworkManager,
    readonly volumes: VolumeStore,
    readonly images: ImageStore,
    readonly manager: ContainerManager,
    readonly containers: ContainerPort,
    private readonly log: EngineLogger,
    readonly startedAt: Date,
  ) {}

  static async open(opts: EngineOptions): Promise<Engine> {
    if (!/^[a-z0-9]{1,7}$/.test(opts.prefix)) throw new EngineOpenError(`invalid prefix "${opts.prefix}": 1 to 7 characters [a-z0-9]`);
    const log = opts.logger ?? silent;
    const D = opts.dataRoot;
    const X = opts.execRoot;
    for (const d of [D, join(D, 'image'), join(D, 'containers'), join(D, 'volumes'), join(D, 'network'), X, join(X, 'runtime')]) await mkdir(d, { recursive: true });
    const events = new EventBus();
    const netLog = (msg: string, fields?: Record<string, unknown>): void => log.info({ component: 'network', ...(fields ?? {}) }, msg);
    const networks = await NetworkManager.open({
      stateDir: join(D, 'network'),
      prefix: opts.prefix,
      ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
      ...(opts.defaultBridgeSubnet !== undefined ? { defaultBridgeSubnet: opts.defaultBridgeSubnet } : {}),
      ...(opts.overlayLocalAddr !== undefined ? { overlayLocalAddr: opts.overlayLocalAddr } : {}),
      ...(opts.hostNetns !== undefined ? { hostNetns: opts.hostNetns } : {}),
      ...(opts.dnsUpstreams !== undefined ? { dnsUpstreams: opts.dnsUpstreams } : {}),
      log: netLog,
    });
    try {
      const volumes = await VolumeStore.open(join(D, 'volumes'));
      const images = await ImageStore.open(join(D, 'image'));
      const emit = (e: ContainerEvent): void => {
        events.publish({ Type: e.Type, Action: e.Action, Actor: { ID: e.Actor.ID, Attributes: e.Actor.Attributes }, scope: 'local' });
      };
      const manager = await ContainerManager.open({ dataRoot: D, execRoot: X, prefix: opts.prefix, ...(opts.runtime ? { runtime: opts.runtime } : {}), images: buildImagesOf(images).overlay(images), networks, volumes, emit });
      const containers = containerPort(manager, opts.prefix);
      const engine = new Engine(opts, events, networks, volumes, images, manager, containers, log, new Date());
      events.publish({ Type: 'daemon', Action: 'start', Actor: { ID: opts.name ?? opts.prefix, Attributes: { name: opts.name ?? opts.prefix } } });
      return engine;
    } catch (e) {
      await networks.close().catch(() => undefined);
      throw e;
    }
  }

  /** What the REST API needs. */
  apiDeps(): EngineApiDeps {
    const containers = this.containers;
    return {
      events: this.events,
      networks: this.networks,
      volumes: this.volumes,
      images: this.images,
      containers,
      imageViews: {
        inspect: (r) => toDockerInspect(r as ImageRecord),
        summary: (r) => toDockerSummary(r as ImageRecord),
        descriptor: async (r) => {
          const rec = r as ImageRecord;
          const size = await this.images.blobs.size(rec.manifestDigest as `sha256:${string}`).catch(() => undefined);
          if (size === undefined) return undefined;
          return { mediaType: this.images.documents(rec.id).manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: rec.manifestDigest, size };
        },
      },
      connect: async (network, container, body) => {
        const id = this.containerId(container);
        const cfg = (typeof body === 'object' && body !== null ? body : {}) as { Aliases?: unknown; IPAMConfig?: { IPv4Address?: unknown } | null };
        const aliases = Array.isArray(cfg.Aliases) ? cfg.Aliases.filter((a): a is string => typeof a === 'string') : [];
        const ip = typeof cfg.IPAMConfig?.IPv4Address === 'string' && cfg.IPAMConfig.IPv4Address !== '' ? cfg.IPAMConfig.IPv4Address : undefined;
        const att = await this.networks.connect(network, id, aliases, ip);
        this.events.publish({ Type: 'network', Action: 'connect', Actor: { ID: this.networks.inspect(network).Id, Attributes: { container: id, name: network, type: 'bridge' } } });
        return att;
      },
      disconnect: async (network, container) => {
        const id = this.containerId(container);
        const att = await this.networks.disconnect(network, id);
        this.events.publish({ Type: 'network', Action: 'disconnect', Actor: { ID: this.networks.inspect(network).Id, Attributes: { container: id, name: network, type: 'bridge' } } });
        return att;
      },
      info: {
        name: this.opts.name ?? this.opts.prefix,
        dataRoot: this.opts.dataRoot,
        execRoot: this.opts.execRoot,
        runtime: this.manager.runtime.name,
        version: this.opts.version ?? '0.1.0',
        startedAt: this.startedAt,
      },
    };
  }

  private containerId(idOrName: string): string {
    return this.manager.resolveContainer(idOrName).id;
  }

  /** Stops serving: containers keep running (their monitors outlive the daemon). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.publish({ Type: 'daemon', Action: 'shutdown', Actor: { ID: this.opts.name ?? this.opts.prefix, Attributes: {} } });
    this.manager.close();
    await this.networks.close().catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'network manager close failed'));
    this.events.close();
  }

  /**
   * Removes everything this engine created in the kernel and on disk state it holds: every container
   * (forced), then networks, bridges, namespaces and NAT rules. Tests and `shoald --cleanup` call it.
   */
  async destroy(): Promise<void> {
    for (const x of this.manager.list({ all: true })) {
      const id = x['Id'];
      if (typeof id === 'string') await this.manager.remove(id, { force: true, v: true }).catch((e: unknown) => this.log.warn({ id, err: (e as Error).message }, 'remove failed'));
    }
    this.manager.close();
    this.closed = true;
    // containers leave the engine's parent cgroup (removeCgroup says why): it goes here, with the last of them
    await removeCgroup('/', cgroupParent(this.opts.prefix)).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'could not remove the parent cgroup'));
    await this.networks.close({ removeAll: true });
    this.events.close();
  }
}
