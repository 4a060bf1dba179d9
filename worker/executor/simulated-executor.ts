/**
 * An executor without containers, for thousands of simulated nodes in one process: a task "runs"
 * until it is shut down, or fails by a configured rule. No timers, no I/O: each running task costs one
 * pending promise.
 */
import type { NodeDescription, Task } from '../../manager/store/index.js';
import { type ExitResult, type Executor, ExecutorError, type StartResult } from './executor.js';

export interface SimulatedRule {
  /** which tasks this rule applies to (by image) */
  image: string;
  /** fail at prepare ("No such image") or exit right after start with this code */
  failAt: 'prepare' | 'start' | 'exit';
  exitCode?: number;
}

export interface SimulatedExecutorOptions {
  hostname: string;
  rules?: SimulatedRule[];
  nanoCPUs?: number;
  memoryBytes?: number;
}

interface Running {
  exit: Promise<ExitResult>;
  resolve: (r: ExitResult) => void;
}

export class SimulatedExecutor implements Executor {
  private readonly running = new Map<string, Running>();
  private readonly ended = new Map<string, ExitResult>();

  constructor(private readonly opts: SimulatedExecutorOptions) {}

  describe(): Promise<NodeDescription> {
    return Promise.resolve({
      Hostname: this.opts.hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: this.opts.nanoCPUs ?? 2e9, MemoryBytes: this.opts.memoryBytes ?? 2 ** 31 },
      Engine: { EngineVersion: 'shoal-simulated' },
    });
  }

  private rule(task: Task): SimulatedRule | undefined {
    return this.opts.rules?.find((r) => r.image === task.Spec.ContainerSpec.Image);
  }

  prepare(task: Task): Promise<void> {
    if (this.rule(task)?.failAt === 'prepare') return Promise.reject(new ExecutorError(`No such image: ${task.Spec.ContainerSpec.Image}`));
    return Promise.resolve();
  }

  start(task: Task): Promise<StartResult> {
    const r = this.rule(task);
    if (r?.failAt === 'start') return Promise.reject(new ExecutorError('starting container failed: simulated'));
    if (!this.running.has(task.ID)) {
      let resolve!: (x: ExitResult) => void;
      const exit = new Promise<ExitResult>((res) => (resolve = res));
      this.running.set(task.ID, { exit, resolve });
      if (r?.failAt === 'exit') this.finish(task.ID, { exitCode: r.exitCode ?? 1, message: 'simulated exit' });
    }
    return Promise.resolve({ containerId: `sim-${task.ID}` });
  }

  private finish(taskId: string, r: ExitResult): void {
    const run = this.running.get(taskId);
    if (!run) return;
    this.running.delete(taskId);
    this.ended.set(taskId, r);
    run.resolve(r);
  }

  wait(task: Task): Promise<ExitResult> {
    const run = this.running.get(task.ID);
    if (run) return run.exit;
    const ended = this.ended.get(task.ID);
    if (ended) return Promise.resolve(ended);
    return Promise.reject(new ExecutorError(`task ${task.ID} is not running on this simulated node`));
  }

  shutdown(task: Task): Promise<void> {
    this.finish(task.ID, { exitCode: 0, message: 'shutdown' });
    return Promise.resolve();
  }

  remove(task: Task): Promise<void> {
    this.finish(task.ID, { exitCode: 0, message: 'removed' });
    this.ended.delete(task.ID);
    return Promise.resolve();
  }

  isRunning(task: Task): Promise<boolean> {
    return Promise.resolve(this.running.has(task.ID));
  }

  /** Test hook: the task's process exits now with this code (as if it crashed). */
  exit(taskId: string, exitCode: number): void {
    this.finish(taskId, { exitCode, message: `exited with ${exitCode}` });
  }

  get runningCount(): number {
    return this.running.size;
  }
}
