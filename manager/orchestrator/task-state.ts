/**
 * Task states in SwarmKit's order (Docker's API strings). States only move forward; a task whose state
 * has reached its desired state stops there; everything from "complete" on is terminal.
 */
export const TASK_STATES = [
  'new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running',
  'complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned',
] as const;

export type TaskState = (typeof TASK_STATES)[number];

const ORDER = new Map<TaskState, number>(TASK_STATES.map((s, i) => [s, i]));

export function stateOrder(s: TaskState): number {
  return ORDER.get(s)!;
}

export function isTaskState(s: unknown): s is TaskState {
  return typeof s === 'string' && ORDER.has(s as TaskState);
}

/** complete, shutdown, failed, rejected, remove, orphaned */
export function isTerminal(s: TaskState): boolean {
  return stateOrder(s) > stateOrder('running');
}

/** A task counts towards a slot while it is meant to run and has not ended. */
export function isRunnable(t: { state: TaskState; desiredState: TaskState }): boolean {
  return stateOrder(t.desiredState) <= stateOrder('running') && !isTerminal(t.state);
}
