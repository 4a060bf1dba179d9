/**
 * One log subscription on the agent: streams the selected tasks' container logs to the manager in
 * batches (PublishLogs), and closes its part when every task's log has been read (not following).
 * Following, tasks of the service that start later on this node are added as they appear.
 */
import type { Task } from '../../manager/store/index.js';
import { selects, type PublishLogsRequest, type SubscriptionMessage, type WireLogLine } from '../../manager/dispatcher/logs.js';
import type { TaskLogEntry } from '../executor/executor.js';

export type PublishFn = (req: Omit<PublishLogsRequest, 'sessionId'>) => Promise<{ stop: boolean }>;
export type LogSource = (task: Task, o: SubscriptionMessage['options'] & { signal: AbortSignal }) => AsyncIterable<TaskLogEntry>;

const BATCH_LINES = 200;
const BATCH_MS = 20;

export class LogPublisher {
  private readonly abort = new AbortController();
  private readonly streaming = new Set<string>();
  private active = 0;
  private batch: WireLogLine[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly sub: SubscriptionMessage,
    private readonly source: LogSource,
    private readonly publish: PublishFn,
    private readonly onDone: () => void,
  ) {}

  /** Starts with the node's current tasks. */
  start(tasks: Iterable<Task>): void {
    for (const t of tasks) this.add(t);
    if (this.active === 0 && !this.sub.options.follow) void this.finish();
  }

  /** A task appeared on this node (following subscriptions take it). */
  offer(task: Task): void {
    if (this.sub.options.follow) this.add(task);
  }

  private add(task: Task): void {
    if (this.closed || this.streaming.has(task.ID) || !selects(this.sub.selector, task)) return;
    this.streaming.add(task.ID);
    this.active++;
    void this.pump(task).finally(() => {
      this.active--;
      if (this.active === 0 && !this.sub.options.follow) void this.finish();
    });
  }

  private async pump(task: Task): Promise<void> {
    let entries: AsyncIterable<TaskLogEntry>;
    try {
      entries = this.source(task, { ...this.sub.options, signal: this.abort.signal });
    } catch {
      return; // no container (never started, or removed): nothing to send
    }
    try {
      for await (const e of entries) {
        if (this.closed) return;
        this.batch.push({ taskId: task.ID, serviceId: task.ServiceID, timestamp: e.time, stream: e.stream, data: e.data.toString('base64') });
        if (this.batch.length >= BATCH_LINES) await this.flush();
        else this.timer ??= setTimeout(() => void this.flush(), BATCH_MS);
      }
    } catch {
      // the container went away while being read: what was read is sent
    }
  }

  /** Sends the gathered lines (one request at a time, in order). */
  private flush(close = false): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const messages = this.batch;
    this.batch = [];
    if (!messages.length && !close) return this.sending;
    this.sending = this.sending.then(async () => {
      try {
        const r = await this.publish({ subscriptionId: this.sub.id, messages, ...(close ? { close: true } : {}) });
        if (r.stop) this.stop();
      } catch {
        this.stop(); // the session is gone; the manager drops this node's part
      }
    });
    return this.sending;
  }

  private async finish(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush(true);
    this.onDone();
  }

  /** The manager closed the subscription, or the session ended. */
  stop(): void {
    if (!this.closed) {
      this.closed = true;
      this.onDone();
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
  }
}
