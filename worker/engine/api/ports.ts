/**
 * What the REST plugins need from the engine's stores. The stores (E1 images, E2 containers and
 * volumes, E3 networks) satisfy these structurally; a store that is absent from this build leaves its
 * endpoints answering 501. Results that the API passes through unchanged are `unknown` here and are
 * checked where their fields are read.
 */
import type { Writable } from 'node:stream';
import type { EventBus } from '../events.js';

export interface ImageRecordView {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  config: unknown;
  manifestDigest?: string;
  size: number;
  created: string;
  layers?: { diffId: string; chainId?: string; dir?: string }[];
}

export interface ImagePort {
  resolve(refOrId: string): ImageRecordView | undefined;
  list(): ImageRecordView[];
  importRootfs(tar: NodeJS.ReadableStream, opts: { ref?: string; changes?: string[]; message?: string }): Promise<ImageRecordView>;
  tag(source: string, ref: string): void | Promise<void>;
  remove(ref: string, opts: { force: boolean; inUse: (imageId: string) => boolean }): Promise<{ untagged: string[]; deleted: string[] }>;
  save(refs: string[], format: 'docker' | 'oci'): NodeJS.ReadableStream;
  load(input: NodeJS.ReadableStream): Promise<{ loaded: string[] }>;
  prune?(opts: { dangling: boolean; inUse: (imageId: string) => boolean }): Promise<{ deleted: string[]; spaceReclaimed?: number }>;
  pull?(ref: string, onProgress: (m: Record<string, unknown>) => void): Promise<unknown>;
}

/** E2's VolumeStore. */
export interface VolumePort {
  create(body: Record<string, unknown>): Promise<unknown>;
  /** throws a 404 error when absent */
  inspect(name: string): unknown;
  list(): unknown[];
  remove(name: string, opts?: { force?: boolean }): Promise<void>;
  prune(opts?: { all?: boolean; label?: string[] }): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
}

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  time: string;
  data: Buffer;
}

export interface AttachOutput {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface AttachSession {
  stdin?: Writable;
  output: AsyncIterable<AttachOutput>;
}

export interface ExecSession {
  stdin?: Writable;
  output: AsyncIterable<AttachOutput>;
  wait(): Promise<number>;
}

export interface ContainerPort {
  create(config: unknown, name?: string): Promise<unknown>;
  start(id: string): Promise<unknown>;
  stop(id: string, opts: { t?: number; signal?: string }): Promise<unknown>;
  kill(id: string, signal?: string): Promise<unknown>;
  restart(id: string, opts?: { t?: number; signal?: string }): Promise<unknown>;
  remove(id: string, opts: { force: boolean; v: boolean; link?: boolean }): Promise<unknown>;
  wait(id: string, condition: 'not-running' | 'next-exit' | 'removed'): Promise<unknown>;
  inspect(id: string): unknown;
  list(opts: { all: boolean; filters: Map<string, string[]>; size?: boolean; limit?: number }): unknown;
  logs(id: string, opts: { follow: boolean; stdout: boolean; stderr: boolean; since?: number; until?: number; tail?: number | 'all'; timestamps: boolean }): AsyncIterable<LogEntry> | Promise<AsyncIterable<LogEntry>>;
  attach(id: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; stream: boolean; logs?: boolean }): AttachSession | Promise<AttachSession>;
  execCreate(id: string, body: unknown): Promise<unknown> | unknown;
  execStart(execId: string, opts: { tty: boolean; detach: boolean }): Promise<ExecSession> | ExecSession;
  execInspect(execId: string): unknown;
  execResize?(execId: string, h: number, w: number): unknown;
  stats(id: string, opts?: { stream: boolean }): unknown;
  resize?(id: string, h: number, w: number): unknown;
  top?(id: string, psArgs?: string): unknown;
  pause?(id: string): Promise<void>;
  unpause?(id: string): Promise<void>;
  resolveContainer?(idOrName: string): unknown;
  /** image IDs used by any container (for rmi / prune) */
  imageInUse?(imageId: string): boolean;
  prune?(opts?: unknown): unknown;
  /** docker cp: the stat of a path in the container, a tar of it, a tar extracted into a directory */
  statPath?(id: string, path: string): Promise<unknown>;
  getArchive?(id: string, path: string): Promise<{ stat: unknown; stream: NodeJS.ReadableStream }>;
  putArchive?(id: string, path: string, tar: NodeJS.ReadableStream): Promise<void>;
  /** docker export: the root filesystem as a tar */
  export?(id: string): Promise<NodeJS.ReadableStream>;
  rename?(id: string, name: string): Promise<void>;
}

export interface NetworkPort {
  create(body: unknown): Promise<unknown>;
  list(): unknown[];
  inspect(idOrName: string): unknown;
  remove(idOrName: string): Promise<void>;
  prune(): Promise<{ NetworksDeleted: string[] }>;
}

/** The engine as the API sees it. */
export interface EngineApiDeps {
  events: EventBus;
  images?: ImagePort;
  volumes?: VolumePort;
  containers?: ContainerPort;
  networks?: NetworkPort;
  /** the image store's own Docker views (fall back to the API's) */
  imageViews?: {
    inspect(r: ImageRecordView): unknown;
    summary(r: ImageRecordView): unknown;
    /** the OCI descriptor of the image's manifest (inspect's `Descriptor`, API 1.46+) */
    descriptor?(r: ImageRecordView): Promise<{ mediaType: string; digest: string; size: number } | undefined>;
  };
  /** container connect/disconnect go through the container manager when it offers them */
  connect?(network: string, container: string, body: unknown): Promise<unknown>;
  disconnect?(network: string, container: string, force: boolean): Promise<unknown>;
  info: EngineInfo;
  /** the `Swarm` section of `GET /info` (and the `Swarm` header of `/_ping`); absent → inactive */
  swarm?: SwarmInfoProvider;
  /** `--insecure-registry` values: registries spoken to in plain HTTP besides loopback */
  insecureRegistries?: readonly string[];
}

/** Docker's `SwarmInfo` shape (`GET /info` → `Swarm`). Fields beyond these pass through unchanged. */
export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  /** '' | 'inactive' | 'pending' | 'active' | 'error' | 'locked' */
  LocalNodeState: string;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface SwarmInfoProvider {
  swarmInfo(): SwarmInfo | Promise<SwarmInfo>;
}

/** Docker's answer when this node is in no swarm. */
export function inactiveSwarmInfo(): SwarmInfo {
  return { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null };
}

export interface EngineInfo {
  name: string;
  dataRoot: string;
  execRoot: string;
  runtime: string;
  version: string;
  startedAt: Date;
}
