/**
 * The objects the replicated store holds, shaped like the Docker Engine API's swarm JSON (Node, Service,
 * Task, …) so that the REST layer renders them with little work. Every object has an `ID` and a `Meta`
 * whose `Version.Index` is the Raft index of the write that last changed it.
 *
 * Objects read from the store are deep-frozen: build a changed copy and hand it to `tx.update`.
 */

import type { Endpoint, PortConfig, Service, TaskSpec } from './service-spec.js';

export interface Version {
  Index: number;
}

export interface Meta {
  Version: Version;
  /** RFC 3339, set by the manager that prepared the write (never read from a clock at apply time) */
  CreatedAt: string;
  UpdatedAt: string;
}

export type Labels = Record<string, string>;

export interface Annotations {
  Name: string;
  Labels?: Labels;
}

// ---------------------------------------------------------------- cluster

export interface RaftConfig {
  SnapshotInterval: number;
  KeepOldSnapshots?: number;
  LogEntriesForSlowFollowers: number;
  ElectionTick: number;
  HeartbeatTick: number;
}

export interface SwarmSpec extends Annotations {
  Orchestration: { TaskHistoryRetentionLimit: number };
  Raft: RaftConfig;
  Dispatcher: { HeartbeatPeriod: number };
  CAConfig: { NodeCertExpiry: number };
  TaskDefaults?: { LogDriver?: { Name: string; Options?: Record<string, string> } };
  EncryptionConfig: { AutoLockManagers: boolean };
}

export interface Cluster {
  ID: string;
  Meta: Meta;
  Spec: SwarmSpec;
  /** the join tokens shown by `swarm join-token` (SWMTKN-1-<digest>-<secret>) */
  JoinTokens: { Worker: string; Manager: string };
  /** PEM of the cluster root CA certificate */
  RootCACert: string;
  /**
   * PEM of the root CA's private key, replicated so that whichever manager leads can sign (as
   * SwarmKit's Cluster.RootCA.CAKey). Never rendered by the API.
   */
  RootCAKey?: string;
  /** sha256 (hex) of the root CA certificate's DER */
  RootCADigest: string;
  /** node IDs whose certificates are refused until they expire (removed nodes) */
  BlacklistedCertificates?: Record<string, { Expiry: string }>;
  /** set when the leader has made the default ingress network (once, at the swarm's start, as SwarmKit does) */
  IngressCreated?: boolean;
  DefaultAddrPool?: string[];
  SubnetSize?: number;
  DataPathPort?: number;
  /**
   * The data-encryption key of secrets, wrapped once per manager for that manager's TLS key (see
   * manager/controlapi/secret-crypto.ts): useless without a manager's private key. Never rendered.
   */
  SecretsKeys?: { KeyID: string; Managers: Record<string, WrappedSecretsKey> };
  /**
   * Autolock: the managers' unlock key (SwarmKit's Cluster.UnlockKeys), sealed with the secrets key
   * above like a secret ("v1:<keyId>:<base64>", see manager/node/unlock-key-vault.ts), so the Raft log
   * never holds it in clear. Present only while Spec.EncryptionConfig.AutoLockManagers. Never rendered.
   */
  SealedUnlockKey?: string;
  /**
   * Autolock: RootCAKey sealed the same way (RootCAKey is then absent), so the Raft log of an
   * autolocked swarm does not hold the CA key in clear. Never rendered.
   */
  SealedRootCAKey?: string;
  /** Autolock: JoinTokens sealed the same way (JSON {Worker, Manager}; JoinTokens is then empty). Never rendered. */
  SealedJoinTokens?: string;
}

/** A secrets DEK wrapped for one manager key (ECDH P-256 + HKDF + AES-256-GCM). */
export interface WrappedSecretsKey {
  KeyID: string;
  /** sha256 (hex) of the recipient public key's SPKI DER */
  Recipient: string;
  /** ephemeral P-256 public point, base64 */
  Epk: string;
  /** base64 of the wrapped key and its tag */
  Data: string;
}

// ---------------------------------------------------------------- node

export type NodeRole = 'manager' | 'worker';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type Reachability = 'unknown' | 'unreachable' | 'reachable';

export interface NodeSpec {
  Name?: string;
  Labels?: Labels;
  Role: NodeRole;
  Availability: NodeAvailability;
}

export interface ResourcesDescription {
  NanoCPUs: number;
  MemoryBytes: number;
}

export interface NodeDescription {
  Hostname: string;
  Platform: { Architecture: string; OS: string };
  Resources: ResourcesDescription;
  Engine: { EngineVersion: string; Labels?: Labels; Plugins?: { Type: string; Name: string }[] };
  TLSInfo?: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string };
}

export interface NodeStatus {
  State: NodeState;
  Message?: string;
  Addr: string;
}

export interface ManagerStatus {
  Leader?: boolean;
  Reachability: Reachability;
  /** host:port of the manager's Raft/gRPC listener */
  Addr: string;
  /** the manager's Raft member ID (SwarmKit's RaftID; never rendered by the API) */
  RaftID?: number;
}

export type CertificateStatus = 'pending' | 'issued' | 'failed' | 'renew';

export interface NodeCertificate {
  Status: CertificateStatus;
  /** PEM of the issued leaf certificate ('' until issued) */
  Certificate: string;
  CSR?: string;
  Err?: string;
}

export interface Node {
  ID: string;
  Meta: Meta;
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: NodeStatus;
  ManagerStatus?: ManagerStatus;
  Certificate: NodeCertificate;
  /** the role the node's certificate carries now (Spec.Role is the desired one) */
  Role: NodeRole;
  /** the node's own addresses on networks (SwarmKit's Node.Attachments): its ingress address, from the allocator */
  Attachments?: NetworkAttachment[];
}

// ---------------------------------------------------------------- service and task specs

export * from './service-spec.js';

// ---------------------------------------------------------------- task

export type TaskState =
  | 'new' | 'pending' | 'assigned' | 'accepted' | 'preparing' | 'ready' | 'starting' | 'running'
  | 'complete' | 'shutdown' | 'failed' | 'rejected' | 'remove' | 'orphaned';

export interface TaskStatus {
  Timestamp: string;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number };
  PortStatus?: { Ports?: PortConfig[] };
  AppliedBy?: string;
  AppliedAt?: string;
}

export interface NetworkAttachment {
  Network: Network;
  Addresses: string[];
}

export interface Task {
  ID: string;
  Meta: Meta;
  ServiceID: string;
  /** replicated services: the slot the task fills (1…replicas); 0 for global tasks */
  Slot: number;
  /** '' until the scheduler assigns it */
  NodeID: string;
  Spec: TaskSpec;
  /** the service's Meta.Version.Index when the task was created (for batching and updates) */
  SpecVersion?: Version;
  DesiredState: TaskState;
  Status: TaskStatus;
  NetworksAttachments?: NetworkAttachment[];
  ServiceAnnotations: Annotations;
  Endpoint?: Endpoint;
  Labels?: Labels;
  /** the generic-resource / log-driver snapshot the executor uses */
  LogDriver?: { Name: string; Options?: Record<string, string> };
  /** jobs only: the service's JobStatus.JobIteration this task belongs to */
  JobIteration?: Version;
}

// ---------------------------------------------------------------- network, volume, secret, config

export interface IPAMConfig {
  Subnet: string;
  Gateway?: string;
  IPRange?: string;
}

export interface NetworkSpec extends Annotations {
  DriverConfiguration?: { Name: string; Options?: Record<string, string> };
  IPAMOptions?: { Driver?: { Name: string }; Configs?: IPAMConfig[] };
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  Scope?: 'swarm' | 'local';
}

export interface Network {
  ID: string;
  Meta: Meta;
  Spec: NetworkSpec;
  DriverState?: { Name: string; Options?: Record<string, string> };
  IPAMOptions?: { Driver?: { Name: string }; Configs?: IPAMConfig[] };
  PendingDelete?: boolean;
}

export interface VolumeSpec extends Annotations {
  Driver?: { Name: string; Options?: Record<string, string> };
  AccessMode?: { Scope?: 'single' | 'multi'; Sharing?: 'none' | 'readonly' | 'onewriter' | 'all' };
  Availability?: 'active' | 'pause' | 'drain';
}

export interface Volume {
  ID: string;
  Meta: Meta;
  Spec: VolumeSpec;
  PublishStatus?: { NodeID: string; State: string }[];
  PendingDelete?: boolean;
}

export interface SecretSpec extends Annotations {
  /** base64 of the secret's bytes; immutable after create */
  Data?: string;
  Driver?: { Name: string; Options?: Record<string, string> };
  Templating?: { Name: string };
}

export interface Secret {
  ID: string;
  Meta: Meta;
  /** as stored, Spec.Data is absent: the data is in SealedData */
  Spec: SecretSpec;
  /** the secret's bytes sealed with the cluster's secrets key ("v1:<keyId>:<base64>"), never in clear */
  SealedData?: string;
}

export interface ConfigSpec extends Annotations {
  /** base64 of the config's bytes; immutable after create */
  Data: string;
  Templating?: { Name: string };
}

export interface Config {
  ID: string;
  Meta: Meta;
  Spec: ConfigSpec;
}

// ---------------------------------------------------------------- tables

export interface ObjectByTable {
  clusters: Cluster;
  nodes: Node;
  services: Service;
  tasks: Task;
  networks: Network;
  volumes: Volume;
  secrets: Secret;
  configs: Config;
}

export type TableName = keyof ObjectByTable;

/** In a fixed order: snapshots and batches list tables this way. */
export const TABLES: readonly TableName[] = [
  'clusters', 'nodes', 'services', 'tasks', 'networks', 'volumes', 'secrets', 'configs',
] as const;

export function isTableName(x: unknown): x is TableName {
  return typeof x === 'string' && (TABLES as readonly string[]).includes(x);
}

export type StoreObject = ObjectByTable[TableName];

export type ChangeAction = 'create' | 'update' | 'delete';

/** One object change in a write batch. For update and delete, `object.Meta.Version` is the version read. */
export interface Change<T extends TableName = TableName> {
  action: ChangeAction;
  table: T;
  object: ObjectByTable[T];
}
