/**
 * What the scheduler sees: nodes and tasks reduced to the fields that placement depends on. The manager
 * builds these from the store's Node and Task objects; the scheduler itself is pure (no clock, no I/O).
 */

export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeRole = 'manager' | 'worker';

export interface Resources {
  nanoCPUs: number;
  memoryBytes: number;
}

export interface Platform {
  os: string;
  architecture: string;
}

export interface HostPort {
  protocol: 'tcp' | 'udp' | 'sctp';
  publishedPort: number;
}

export interface SchedNode {
  id: string;
  hostname: string;
  role: NodeRole;
  state: NodeState;
  availability: NodeAvailability;
  /** node.Spec.Labels (`node.labels.*`) */
  labels: Record<string, string>;
  /** node.Description.Engine.Labels (`engine.labels.*`) */
  engineLabels: Record<string, string>;
  /** node.Status.Addr (`node.ip`) */
  addr: string;
  platform: Platform;
  /** what the node offers in all (node.Description.Resources) */
  resources: Resources;
}

/** A task that is still placed on a node and holds its resources (not terminal). */
export interface PlacedTask {
  id: string;
  serviceId: string;
  nodeId: string;
  reservations: Resources;
  hostPorts: HostPort[];
}

export interface SpreadPreference {
  /** e.g. "node.labels.zone" or "engine.labels.rack" */
  spreadDescriptor: string;
}

/** A task waiting for a node. Tasks with the same groupKey have identical placement needs. */
export interface PendingTask {
  id: string;
  serviceId: string;
  /** tasks of one service and spec version share it (SwarmKit batches them on one tree) */
  groupKey: string;
  /** set for global-service tasks: the scheduler only checks that the node fits */
  nodeId?: string;
  constraints: string[];
  preferences: SpreadPreference[];
  /** 0 = unlimited */
  maxReplicasPerNode: number;
  reservations: Resources;
  /** empty = any platform */
  platforms: Partial<Platform>[];
  hostPorts: HostPort[];
}

export interface Decision {
  taskId: string;
  nodeId: string;
}

export interface Unschedulable {
  taskId: string;
  /** Docker's text, e.g. "no suitable node (scheduling constraints not satisfied on 3 nodes)" */
  reason: string;
}

export interface ScheduleResult {
  assigned: Decision[];
  unschedulable: Unschedulable[];
}
