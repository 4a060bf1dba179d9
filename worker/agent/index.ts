// The worker agent. Re-exports only.
export { Agent, type AgentOptions } from './agent.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffConfig } from './backoff.js';
export { TaskRunner, nextAction, type TaskAction } from './task-runner.js';
export { loadTasks, saveTasks, TASK_FILE, type PersistedTask } from './task-file.js';
export { DispatcherClient, leaderAddrOf } from './dispatcher-client.js';
export { startWorker, workerStateDir, type WorkerOptions, type WorkerHandle } from './start-worker.js';
