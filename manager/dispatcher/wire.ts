/**
 * The messages of proto/dispatcher.proto as TypeScript types. The swarm objects inside them (Task,
 * Secret, Config, NodeDescription) travel as JSON in the Docker API's shapes, like the rest of shoal.
 */
import type { NodeDescription, TaskStatus } from '../store/index.js';
import type { AssignmentMessage } from './assignments.js';
import type { WeightedManager } from './manager-list.js';
import type { StatusReport } from './status-intake.js';

export interface SessionRequest {
  description?: NodeDescription;
  /** the node's address as the agent knows it (the manager uses the peer address when empty) */
  addr?: string;
}

export interface SessionMessage {
  sessionId: string;
  nodeId: string;
  managers: WeightedManager[];
  heartbeatPeriodMs: number;
  /** the node's address as the manager recorded it (what peers send overlay traffic to) */
  nodeAddr?: string;
}

export interface HeartbeatRequest {
  sessionId: string;
}

export interface HeartbeatResponse {
  periodMs: number;
}

export interface AssignmentsRequest {
  sessionId: string;
}

export type AssignmentsMessage = AssignmentMessage;

export interface UpdateTaskStatusRequest {
  sessionId: string;
  updates: StatusReport[];
}

export interface UpdateTaskStatusResponse {
  refused: { taskId: string; message: string }[];
}

export type { StatusReport, TaskStatus };
