/**
 * One task on this node: drives the Executor one step at a time towards the task's desired state and
 * reports each state it reaches. States only move forward (report() ignores anything not ahead).
 * `nextAction` is the pure decision; TaskRunner is the shell that performs it.
 */
import type { Task, TaskState, TaskStatus } from '../../manager/store/index.js';
import { isTerminal, stateOrder } from '../../manager/orchestrator/task-state.js';
import type { ExitResult, Executor } from '../executor/index.js';

export type TaskAction = 'accept' | 'prepare' | 'start' | 'resume' | 'shutdown' | 'reject-unstarted' | 'none';

export function nextAction(observed: TaskState, desired: TaskState, waiting: boolean): TaskAction {
  if (isTerminal(observed)) return 'none';
  const stop = stateOrder(desired) > stateOrder('running');
  if (stop) return stateOrder(observed) >= stateOrder('starting') ? 'shutdown' : 'reject-unstarted';
  switch (observed) {
    case 'new': case 'pending': case 'assigned': return 'accept';
    case 'accepted': return 'prepare';
    case 'preparing': return 'prepare';
    case 'ready': return stateOrder(desired) >= stateOrder('running') ? 'start' : 'none';
    case 'starting': return 'start';
    case 'running': return waiting ? 'none' : 'resume';
    default: return 'none';
  }
}

export class TaskRunner {
  private busy = false;
  private again = false;
  private waiting = false;
  private removed = false;
  private stopping = false;
  private starting = false;

  constructor(
    public task: Task,
    public status: TaskStatus,
    private readonly executor: Executor,
    /** called with each new status (already checked to be ahead) */
    private readonly onStatus: (task: Task, status: TaskStatus) => void,
    private readonly now: () => number,
  ) {}

  update(task: Task): void {
    this.task = task;
    // a start still waiting (e.g. for a health check) is cut short by a shutdown, as moby's controller does
    if (this.starting && !this.stopping && stateOrder(task.DesiredState) > stateOrder('running')) {
      this.stopping = true;
      void this.executor.shutdown(task).catch(() => undefined);
    }
    this.kick();
  }

  kick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.removed && (await this.step())) {
          /* each step reports progress; keep going until nothing is left to do */
        }
      } while (this.again && !this.removed);
    } finally {
      this.busy = false;
    }
  }

  private report(state: TaskState, message: string, extra: Partial<TaskStatus> = {}): boolean {
    if (stateOrder(state) <= stateOrder(this.status.State)) return false;
    this.status = { ...this.status, ...extra, State: state, Message: message, Timestamp: new Date(this.now()).toISOString() };
    this.onStatus(this.task, this.status);
    return true;
  }

  private fail(e: unknown, state: 'failed' | 'rejected' = 'failed'): boolean {
    return this.report(state, state === 'rejected' ? 'preparing' : 'started', { Err: (e as Error)?.message ?? String(e) });
  }

  private async step(): Promise<boolean> {
    const action = nextAction(this.status.State, this.task.DesiredState, this.waiting);
    const t = this.task;
    switch (action) {
      case 'none':
        return false;
      case 'accept':
        return this.report('accepted', 'accepted');
      case 'prepare':
        this.report('preparing', 'preparing');
        try {
          await this.executor.prepare(t);
        } catch (e) {
          return this.fail(e, 'rejected');
        }
        return this.report('ready', 'prepared');
      case 'start': {
        this.report('starting', 'starting');
        let r;
        this.starting = true;
        try {
          r = await this.executor.start(t);
        } catch (e) {
          if (this.stopping) return true; // stopped while starting: the shutdown step reports it
          return this.fail(e);
        } finally {
          this.starting = false;
        }
        if (stateOrder(this.task.DesiredState) > stateOrder('running')) return true; // → shutdown
        this.watchExit();
        return this.report('running', 'started', {
          ContainerStatus: { ContainerID: r.containerId, PID: r.pid },
          ...(r.ports?.length ? { PortStatus: { Ports: r.ports } } : {}),
        });
      }
      case 'resume': {
        let running = false;
        try {
          running = await this.executor.isRunning(t);
        } catch {
          running = false;
        }
        if (running) {
          this.watchExit();
          return false;
        }
        // it ended while the agent was away: report how, when the executor still knows
        let r: ExitResult;
        try {
          r = await this.executor.wait(t);
        } catch {
          return this.report('failed', 'task not running after agent restart', { Err: 'task lost: not running after restart' });
        }
        return this.reportExit(r);
      }
      case 'shutdown':
        // the exit this causes is the shutdown, not a failure: watchExit leaves it to this step
        this.stopping = true;
        try {
          await this.executor.shutdown(t);
        } catch (e) {
          return this.fail(e);
        }
        return this.report('shutdown', 'shutdown');
      case 'reject-unstarted':
        return this.report('shutdown', 'shutdown before start');
    }
  }

  private watchExit(): void {
    if (this.waiting) return;
    this.waiting = true;
    const t = this.task;
    this.executor.wait(t).then(
      (r) => {
        this.waiting = false;
        if (!this.stopping && !this.removed) this.reportExit(r);
        this.kick();
      },
      (e: unknown) => {
        this.waiting = false;
        if (!this.stopping && !this.removed) this.fail(e);
        this.kick();
      },
    );
  }

  /** COMPLETE on exit 0, else FAILED with moby's "task: non-zero exit (N)". */
  private reportExit(r: ExitResult): boolean {
    const ContainerStatus = { ContainerID: r.containerId ?? this.status.ContainerStatus?.ContainerID, ExitCode: r.exitCode };
    if (r.exitCode === 0) return this.report('complete', 'finished', { ContainerStatus });
    return this.report('failed', 'started', { Err: `task: non-zero exit (${r.exitCode})`, ContainerStatus });
  }

  /** The task left the assignments: stop it if needed, then remove what it left. */
  async remove(): Promise<void> {
    this.removed = true;
    if (!isTerminal(this.status.State) && stateOrder(this.status.State) >= stateOrder('starting')) {
      await this.executor.shutdown(this.task).catch(() => undefined);
    }
    await this.executor.remove(this.task).catch(() => undefined);
  }
}
