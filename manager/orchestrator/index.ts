/**
 * The service loops a leading manager runs (CLUSTER's Manager starts them on gaining leadership):
 * allocator, scheduler, orchestrator (replicated/global/jobs, restart supervisor, down/drained nodes,
 * constraint enforcer), updater (rolling updates and rollbacks) and task reaper.
 */
import type { LeaderLoop } from '../node/leader-loop.js';
import { AllocatorLoop } from './allocator-loop.js';
import { realTimers, type Timers } from './loop-base.js';
import { OrchestratorLoop } from './orchestrator-loop.js';
import { ReaperLoop } from './reaper-loop.js';
import { SchedulerLoop } from './scheduler-loop.js';
import { UpdaterLoop } from './updater-loop.js';

export { realTimers, ReconcileLoop, type Timers } from './loop-base.js';
export { AllocatorLoop, OrchestratorLoop, ReaperLoop, SchedulerLoop, UpdaterLoop };
export { reconcileReplicated, type ReplicatedPlan, type SlotTask } from './replicated-reconcile.js';
export { decideRestart, type RestartDecision, type RestartPolicySpec } from './restart-policy.js';
export { isRunnable, isTerminal, stateOrder, TASK_STATES, type TaskState } from './task-state.js';
export { isUpToDate, modeKind, newTask, nodeInvalid } from './task-factory.js';

export function serviceLoops(opts: { timers?: Timers } = {}): LeaderLoop[] {
  const timers = opts.timers ?? realTimers;
  return [new AllocatorLoop(timers), new SchedulerLoop(timers), new OrchestratorLoop(timers), new UpdaterLoop(timers), new ReaperLoop(timers)];
}
