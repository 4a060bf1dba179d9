/**
 * An in-process LogSource for tests: what simulated agents publish per task, served to subscribers as
 * the manager's log broker would (selection by service or task, per-task tail, since, follow until the
 * subscriber aborts).
 */
import type { LogMessage, LogSelector, LogSource, LogSubscribeOptions } from '../../../manager/controlapi/service-logs.js';
import type { ReplicatedStore } from '../../../manager/store/index.js';

export class MemoryLogSource implements LogSource {
  private readonly lines: LogMessage[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(private readonly store: ReplicatedStore) {}

  /** A task writes a line (its service and node are read from the store). */
  publish(taskId: string, stream: LogMessage['stream'], text: string, timestamp = new Date().toISOString()): void {
    const t = this.store.view((tx) => tx.get('tasks', taskId));
    if (!t) throw new Error(`no task ${taskId}`);
    this.lines.push({ context: { serviceId: t.ServiceID, nodeId: t.NodeID, taskId }, timestamp, stream, data: Buffer.from(text) });
    for (const w of [...this.waiters]) w();
  }

  private selects(sel: LogSelector, m: LogMessage): boolean {
    if (sel.taskIds && !sel.taskIds.includes(m.context.taskId)) return false;
    if (sel.serviceIds && !sel.serviceIds.includes(m.context.serviceId)) return false;
    return true;
  }

  async *subscribe(sel: LogSelector, opts: LogSubscribeOptions, signal: AbortSignal): AsyncIterable<LogMessage> {
    const match = (m: LogMessage) => this.selects(sel, m) && opts.streams.includes(m.stream) && (opts.since === undefined || Date.parse(m.timestamp) / 1000 >= opts.since);
    let backlog = this.lines.filter(match);
    if (opts.tail !== undefined) {
      const perTask = new Map<string, LogMessage[]>();
      for (const m of backlog) {
        const l = perTask.get(m.context.taskId) ?? [];
        l.push(m);
        perTask.set(m.context.taskId, l);
      }
      const keep = new Set([...perTask.values()].flatMap((l) => l.slice(Math.max(0, l.length - opts.tail!))));
      backlog = backlog.filter((m) => keep.has(m));
    }
    let seen = this.lines.length;
    yield* backlog;
    if (!opts.follow) return;
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
      const fresh = this.lines.slice(seen);
      seen = this.lines.length;
      for (const m of fresh) if (match(m)) yield m;
    }
  }
}
