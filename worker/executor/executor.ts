/**
 * What runs a task on a node. The agent's task runner drives one step per call (prepare, start, wait,
 * shutdown, remove) and turns the results into task states; an Executor only does the work.
 * Implementations: EngineExecutor (real containers) and SimulatedExecutor (no containers, for scale).
 */
import type { NodeDescription, PortConfig, Task } from '../../manager/store/index.js';
import type { NetworkView } from '../../manager/dispatcher/network-view.js';
import type { TaskDependencies } from './task-files.js';

export interface StartResult {
  containerId?: string;
  pid?: number;
  /** host-mode published ports as bound (the task's PortStatus) */
  ports?: PortConfig[];
}

export interface ExitResult {
  exitCode: number;
  /** why it ended, for the task's status message/err */
  message?: string;
  containerId?: string;
}

export interface Executor {
  /** What the node offers (hostname, platform, resources, engine). */
  describe(): Promise<NodeDescription>;
  /** Everything needed before start: the image present (pulled if missing), the container created. */
  prepare(task: Task): Promise<void>;
  start(task: Task): Promise<StartResult>;
  /** Resolves when the task's process ends (after a shutdown too). */
  wait(task: Task): Promise<ExitResult>;
  /** Stops the task (grace period from the spec, then kill). Resolves when it has stopped. */
  shutdown(task: Task): Promise<void>;
  /** Removes whatever the task left (container, files). Idempotent. */
  remove(task: Task): Promise<void>;
  /** Whether the task's process is running now (to resume after an agent restart). */
  isRunning(task: Task): Promise<boolean>;
  /**
   * Removes what tasks not in `keep` left on the node (after a restart: containers of tasks no longer
   * assigned here). Returns the IDs of the tasks whose leftovers were removed.
   */
  prune?(keep: ReadonlySet<string>): Promise<string[]>;
  /** Programs an overlay network as the swarm sees it (peers, DNS records, VIPs). */
  applyNetwork?(view: NetworkView): Promise<void>;
  /** The node has no task on this overlay any more. */
  removeNetwork?(id: string): Promise<void>;
  /** After a complete set: overlays not in `keep` are removed when unused. */
  pruneNetworks?(keep: ReadonlySet<string>): Promise<void>;
  /** Where the task's secrets and configs are read from (the agent's copy of what it was sent). */
  setDependencies?(deps: TaskDependencies): void;
  /** The node's underlay address as the swarm knows it (the source of its overlay traffic). */
  setNodeAddress?(addr: string): void;
  /** The task's log (throws when the task left nothing to read); follow ends when the task stops. */
  logs?(task: Task, o: TaskLogOptions): AsyncIterable<TaskLogEntry>;
}

/** One line of a task's log. */
export interface TaskLogEntry {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds */
  time: string;
  data: Buffer;
}

export interface TaskLogOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** unix seconds */
  since?: number;
  tail?: number;
  signal?: AbortSignal;
}

/** A task-level failure with the message the task status shows (e.g. "No such image"). */
export class ExecutorError extends Error {
  constructor(message: string, readonly fatal = true, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExecutorError';
  }
}
