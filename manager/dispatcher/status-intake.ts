/**
 * Checks of a task status report, pure. A node may report only on tasks assigned to it, and a task's
 * state only moves forward (SwarmKit refuses the others; Status is written only by the agent).
 */
import type { Task, TaskStatus } from '../store/index.js';
import { isTaskState, stateOrder } from '../orchestrator/task-state.js';

export interface StatusReport {
  taskId: string;
  status: TaskStatus;
}

export type IntakeDecision =
  | { kind: 'apply'; task: Task }
  | { kind: 'unchanged' }
  | { kind: 'refused'; reason: 'not-found' | 'wrong-node' | 'backwards' | 'invalid'; message: string };

export function checkReport(task: Task | undefined, nodeId: string, r: StatusReport): IntakeDecision {
  if (!r || typeof r.taskId !== 'string' || !r.status || !isTaskState(r.status.State)) {
    return { kind: 'refused', reason: 'invalid', message: `status report for task ${String(r?.taskId)}: State is not a task state` };
  }
  if (!task) return { kind: 'refused', reason: 'not-found', message: `task ${r.taskId} not found` };
  if (task.NodeID !== nodeId) {
    return { kind: 'refused', reason: 'wrong-node', message: `cannot update task ${task.ID}: it is not assigned to node ${nodeId}` };
  }
  const cur = stateOrder(task.Status.State);
  const next = stateOrder(r.status.State);
  if (next < cur) {
    return { kind: 'refused', reason: 'backwards', message: `task ${task.ID}: state ${r.status.State} is before the current ${task.Status.State}` };
  }
  if (next === cur && task.Status.Message === r.status.Message && task.Status.Err === r.status.Err) return { kind: 'unchanged' };
  return { kind: 'apply', task: { ...task, Status: { ...r.status } } };
}
