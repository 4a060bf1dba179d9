/** Shapes the container manager speaks: Docker's create body, the stores it depends on, its persisted record. */
import type { Attachment, AttachRequest } from '../network/index.js';

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

export interface MountSpec {
  Type?: 'bind' | 'volume' | 'tmpfs' | string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure' | string;
  MaximumRetryCount?: number;
}

export interface HostConfig {
  Binds?: string[] | null;
  Mounts?: MountSpec[] | null;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  PidsLimit?: number | null;
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  NetworkMode?: string;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  Tmpfs?: Record<string, string> | null;
  Privileged?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  ReadonlyRootfs?: boolean;
}

/** Docker's POST /containers/create body (the fields we honour). */
export interface ContainerCreateBody {
  Image?: string;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Hostname?: string;
  Domainname?: string;
  Labels?: Record<string, string> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  StdinOnce?: boolean;
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } | null> | null };
  Healthcheck?: HealthConfig;
  StopSignal?: string;
  StopTimeout?: number | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
}

/** The subset of an OCI image config's `config` object the engine reads. */
export interface ImageRunConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Volumes?: Record<string, object>;
  Healthcheck?: HealthConfig;
  StopSignal?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
}

/** What the container manager needs from an image (E1's ImageRecord satisfies it). */
export interface ImageLike {
  id: string;
  repoTags?: string[];
  /** either the OCI config file (with a `config` object) or its `config` object itself */
  config: unknown;
}

/** What the container manager needs from the image store (E1's ImageStore satisfies it). */
export interface ContainerImages {
  resolve(refOrId: string): ImageLike | undefined;
  /** unpacked layer dirs, top layer first */
  lowerDirs(imageId: string): string[];
}

/** What the container manager needs from networking (E3's NetworkManager satisfies it). */
export interface ContainerNetworking {
  attach(containerId: string, req: AttachRequest): Promise<Attachment>;
  /** attach in two steps (NetworkManager.beginAttach): the start overlaps `finish` with the runtime's create */
  beginAttach?(containerId: string, req: AttachRequest): Promise<{ attachment: Attachment; finish: () => Promise<void> }>;
  detach(containerId: string): Promise<void>;
  getAttachment?(containerId: string): Attachment | undefined;
}

/** Docker's event shape for container events (E4's EngineEvent is a superset). */
export interface ContainerEvent {
  Type: 'container';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  status?: string;
  id?: string;
  from?: string;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthResult[];
}

/** A resolved mount, as recorded at create time. */
export interface ResolvedMount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** host path (bind), volume name (volume), '' (tmpfs) */
  source: string;
  destination: string;
  readOnly: boolean;
  /** host dir actually mounted (bind source or the volume's _data) */
  hostPath?: string;
  anonymous?: boolean;
  tmpfsOptions?: string[];
}

/** Persisted per container at D/containers/<id>/state.json. */
export interface ContainerRecord {
  version: 1;
  id: string;
  name: string;
  created: string;
  imageRef: string;
  imageId: string;
  config: ContainerCreateBody;
  /** the effective process */
  path: string;
  args: string[];
  env: string[];
  user: { uid: number; gid: number; additionalGids: number[]; spec: string };
  workingDir: string;
  hostname: string;
  mounts: ResolvedMount[];
  state: {
    status: ContainerStatus;
    pid: number;
    conmonPid: number;
    exitCode: number;
    error: string;
    oomKilled: boolean;
    startedAt: string;
    finishedAt: string;
    health?: HealthState;
  };
  restartCount: number;
  /** set by an explicit stop/kill: restart policies do not apply to this exit */
  manualStop: boolean;
  hasBeenStarted: boolean;
}
