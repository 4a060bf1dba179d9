/**
 * The node-local engine: wires the image store (E1), volumes and containers (E2), networks (E3) and the
 * event bus together, with the data layout of DESIGN.md (`--data-root` D, `--exec-root` X).
 *
 * The image store and the container manager are loaded by module path at open time, so that this file
 * builds while they are still landing; a store that is missing leaves its API endpoints answering 501.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EventBus, type EngineEvent, type EventInput } from './events.js';
import { NetworkManager } from './network/index.js';
import { VolumeStore } from './volume/volume-store.js';
import type { ContainerPort, EngineApiDeps, ImagePort } from './api/ports.js';

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
}

export class EngineOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineOpenError';
  }
}

const silent: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Loads an optional module and returns the named export when it is a class-like value. */
async function optionalExport(candidates: string[], name: string, log: EngineLogger): Promise<unknown> {
  for (const rel of candidates) {
    const url = new URL(rel, import.meta.url).href;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ERR_MODULE_NOT_FOUND') continue;
      throw new EngineOpenError(`could not load ${rel}: ${(e as Error).message}`, { cause: e });
    }
    if (typeof mod[name] === 'function') return mod[name];
  }
  log.warn({ export: name, tried: candidates }, 'engine component not available in this build');
  return undefined;
}

function hasOpen(v: unknown): v is { open: (arg: unknown) => Promise<unknown> } {
  return typeof v === 'function' && typeof (v as { open?: unknown }).open === 'function';
}

function isImagePort(v: unknown): v is ImagePort {
  const o = v as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && ['resolve', 'list', 'importRootfs', 'tag', 'remove', 'save', 'load', 'lowerDirs'].every((m) => typeof o[m] === 'function');
}

function isContainerPort(v: unknown): v is ContainerPort {
  const o = v as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && ['create', 'start', 'stop', 'kill', 'remove', 'wait', 'inspect', 'list', 'logs', 'attach', 'execCreate', 'execStart', 'execInspect', 'stats'].every((m) => typeof o[m] === 'function');
}

export class Engine {
  private closed = false;

  private constructor(
    readonly opts: EngineOptions,
    readonly events: EventBus,
    readonly networks: NetworkManager,
    readonly volumes: VolumeStore,
    readonly images: ImagePort | undefined,
    readonly containers: ContainerPort | undefined,
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
      log: netLog,
    });
    try {
      const volumes = await VolumeStore.open(join(D, 'volumes'));
      let images: ImagePort | undefined;
      const ImageStore = await optionalExport(['./image/index.js', './image/image-store.js'], 'ImageStore', log);
      if (hasOpen(ImageStore)) {
        const s = await ImageStore.open(join(D, 'image'));
        if (isImagePort(s)) images = s;
        else log.warn({}, 'ImageStore lacks methods the API needs; images are unavailable');
      }
      let containers: ContainerPort | undefined;
      const ContainerManager = await optionalExport(['./container/index.js', './container/container-manager.js'], 'ContainerManager', log);
      if (hasOpen(ContainerManager) && images) {
        const emit = (e: EngineEvent | EventInput): void => {
          events.publish({ Type: e.Type, Action: e.Action, Actor: { ID: e.Actor.ID, Attributes: e.Actor.Attributes ?? {} }, scope: 'local' });
        };
        const m = await ContainerManager.open({
          dataRoot: D,
          execRoot: X,
          prefix: opts.prefix,
          ...(opts.runtime ? { runtime: opts.runtime } : {}),
          images,
          networks,
          volumes,
          emit,
          logger: log,
        });
        if (isContainerPort(m)) containers = m;
        else log.warn({}, 'ContainerManager lacks methods the API needs; containers are unavailable');
      }
      const engine = new Engine(opts, events, networks, volumes, images, containers, log, new Date());
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
      ...(this.images ? { images: this.images } : {}),
      ...(containers ? { containers } : {}),
      connect: async (network, container, body) => {
        const id = this.containerId(container);
        const cfg = (typeof body === 'object' && body !== null ? body : {}) as { Aliases?: unknown; IPAMConfig?: { IPv4Address?: unknown } | null };
        const aliases = Array.isArray(cfg.Aliases) ? cfg.Aliases.filter((a): a is string => typeof a === 'string') : [];
        const ip = typeof cfg.IPAMConfig?.IPv4Address === 'string' && cfg.IPAMConfig.IPv4Address !== '' ? cfg.IPAMConfig.IPv4Address : undefined;
        const viaManager = containers as unknown as { connect?: (n: string, c: string, a: string[], ip?: string) => Promise<unknown> };
        if (viaManager && typeof viaManager.connect === 'function') return viaManager.connect(network, id, aliases, ip);
        const att = await this.networks.connect(network, id, aliases, ip);
        this.events.publish({ Type: 'network', Action: 'connect', Actor: { ID: this.networks.inspect(network).Id, Attributes: { container: id, name: network, type: 'bridge' } } });
        return att;
      },
      disconnect: async (network, container) => {
        const id = this.containerId(container);
        const viaManager = containers as unknown as { disconnect?: (n: string, c: string) => Promise<unknown> };
        if (viaManager && typeof viaManager.disconnect === 'function') return viaManager.disconnect(network, id);
        const att = await this.networks.disconnect(network, id);
        this.events.publish({ Type: 'network', Action: 'disconnect', Actor: { ID: this.networks.inspect(network).Id, Attributes: { container: id, name: network, type: 'bridge' } } });
        return att;
      },
      info: {
        name: this.opts.name ?? this.opts.prefix,
        dataRoot: this.opts.dataRoot,
        execRoot: this.opts.execRoot,
        runtime: this.opts.runtime ?? 'runc',
        version: this.opts.version ?? '0.1.0',
        startedAt: this.startedAt,
      },
    };
  }

  private containerId(idOrName: string): string {
    if (!this.containers) return idOrName;
    const v = this.containers.inspect(idOrName) as { Id?: unknown } | undefined;
    return typeof v?.Id === 'string' ? v.Id : idOrName;
  }

  /** Stops serving: containers keep running (their monitors outlive the daemon). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.publish({ Type: 'daemon', Action: 'shutdown', Actor: { ID: this.opts.name ?? this.opts.prefix, Attributes: {} } });
    const c = this.containers as unknown as { close?: () => Promise<void> } | undefined;
    if (c && typeof c.close === 'function') await c.close().catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'container manager close failed'));
    await this.networks.close().catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'network manager close failed'));
    this.events.close();
  }

  /**
   * Removes everything this engine created in the kernel and on disk state it holds: every container
   * (forced), then networks, bridges, namespaces and NAT rules. Tests and `shoald --cleanup` call it.
   */
  async destroy(): Promise<void> {
    const c = this.containers;
    if (c) {
      const list = c.list({ all: true, filters: new Map() });
      if (Array.isArray(list)) {
        for (const x of list) {
          const id = (x as { Id?: unknown }).Id;
          if (typeof id === 'string') await Promise.resolve(c.remove(id, { force: true, v: true })).catch((e: unknown) => this.log.warn({ id, err: (e as Error).message }, 'remove failed'));
        }
      }
      const m = c as unknown as { close?: () => Promise<void> };
      if (typeof m.close === 'function') await m.close().catch(() => undefined);
    }
    this.closed = true;
    await this.networks.close({ removeAll: true });
    this.events.close();
  }
}
