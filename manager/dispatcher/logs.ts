/**
 * Task logs gathered from the workers (`docker service logs`, `docker service logs <task>`), as
 * SwarmKit's log broker does: a manager subscribes with a selector (services, tasks, nodes) and options
 * (follow, tail, since, streams); the leader's dispatcher sends the subscription to the agents of the
 * nodes that ran those tasks (ListenSubscriptions); each agent streams the task containers' logs back
 * (PublishLogs) and closes its part; lines arrive tagged with their service, node and task.
 *
 * For the REST layer (SERVICES): `LogBroker.subscribe()` is the whole interface. On the leader the
 * Dispatcher is one; on a follower, `remoteLogBroker` asks the leader over gRPC (SubscribeLogs).
 */
import type { ReadTx, Task } from '../store/index.js';
import { stateOrder } from '../orchestrator/task-state.js';

export interface LogSelector {
  serviceIds?: string[];
  taskIds?: string[];
  nodeIds?: string[];
}

export interface LogStreamOptions {
  /** keep streaming new lines (and tasks that start later) until the caller stops */
  follow?: boolean;
  /** last N lines of each task's log; undefined = all */
  tail?: number;
  /** unix seconds (fractions allowed): lines at or after */
  since?: number;
  stdout?: boolean;
  stderr?: boolean;
  /** the streams wanted, as the services REST layer names them (wins over stdout/stderr) */
  streams?: ('stdout' | 'stderr')[];
}

/** The options as the agents get them: stdout/stderr booleans (both when neither is said). */
export function normalizeLogOptions(o: LogStreamOptions): LogStreamOptions {
  const out: LogStreamOptions = {};
  if (o.follow) out.follow = true;
  if (o.tail !== undefined) out.tail = o.tail;
  if (o.since !== undefined) out.since = o.since;
  if (o.streams) {
    out.stdout = o.streams.includes('stdout');
    out.stderr = o.streams.includes('stderr');
  } else {
    if (o.stdout !== undefined) out.stdout = o.stdout;
    if (o.stderr !== undefined) out.stderr = o.stderr;
  }
  return out;
}

export interface LogContext {
  serviceId: string;
  nodeId: string;
  taskId: string;
}

export interface LogLine {
  context: LogContext;
  /** RFC 3339 in UTC with nanoseconds, ending in Z (Docker's form) */
  timestamp: string;
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** What the services REST route uses. The iterable ends when every node is done (not following) or the signal aborts. */
export interface LogBroker {
  subscribe(selector: LogSelector, options: LogStreamOptions, signal?: AbortSignal): AsyncIterable<LogLine>;
}

// ---- the wire between the dispatcher and the agents ------------------------------------------------

/** Sent to an agent: start (or, with close, stop) streaming the selected tasks' logs. */
export interface SubscriptionMessage {
  id: string;
  selector: { serviceIds?: string[]; taskIds?: string[] };
  options: LogStreamOptions;
  close?: boolean;
}

export interface WireLogLine {
  taskId: string;
  serviceId: string;
  timestamp: string;
  stream: 'stdout' | 'stderr';
  /** base64 */
  data: string;
}

export interface PublishLogsRequest {
  sessionId: string;
  subscriptionId: string;
  messages: WireLogLine[];
  /** this node has sent everything it will for this subscription */
  close?: boolean;
  /** why this node could not send its logs */
  error?: string;
}

// ---- pure parts -----------------------------------------------------------------------------------

/** The tasks a selector names, grouped by node (only tasks that reached a node). */
export function logTargets(tx: ReadTx, selector: LogSelector): Map<string, Task[]> {
  const tasks = new Map<string, Task>();
  for (const id of selector.serviceIds ?? []) for (const t of tx.find('tasks', { index: 'service', key: id })) tasks.set(t.ID, t);
  for (const id of selector.taskIds ?? []) {
    const t = tx.get('tasks', id);
    if (t) tasks.set(t.ID, t);
  }
  const nodes = selector.nodeIds?.length ? new Set(selector.nodeIds) : undefined;
  const out = new Map<string, Task[]>();
  for (const t of tasks.values()) {
    if (!t.NodeID || stateOrder(t.Status.State) < stateOrder('assigned')) continue;
    if (nodes && !nodes.has(t.NodeID)) continue;
    (out.get(t.NodeID) ?? out.set(t.NodeID, []).get(t.NodeID)!).push(t);
  }
  return out;
}

/** Whether a task belongs to a subscription's selector (the agent's check). */
export function selects(sel: SubscriptionMessage['selector'], task: { ID: string; ServiceID: string }): boolean {
  return (sel.taskIds ?? []).includes(task.ID) || (sel.serviceIds ?? []).includes(task.ServiceID);
}

/** Checks a selector and options from the wire; throws a message naming the field. */
export function checkSubscription(selector: unknown, options: unknown): { selector: LogSelector; options: LogStreamOptions } {
  const strs = (v: unknown, f: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${f}: must be an array of strings`);
    return v as string[];
  };
  const s = (typeof selector === 'object' && selector !== null ? selector : {}) as Record<string, unknown>;
  const o = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>;
  const sel: LogSelector = {};
  const serviceIds = strs(s.serviceIds, 'selector.serviceIds');
  const taskIds = strs(s.taskIds, 'selector.taskIds');
  const nodeIds = strs(s.nodeIds, 'selector.nodeIds');
  if (serviceIds) sel.serviceIds = serviceIds;
  if (taskIds) sel.taskIds = taskIds;
  if (nodeIds) sel.nodeIds = nodeIds;
  if (!serviceIds?.length && !taskIds?.length) throw new Error('selector: name at least one service or task');
  const opts: LogStreamOptions = {};
  for (const k of ['follow', 'stdout', 'stderr'] as const) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'boolean') throw new Error(`options.${k}: must be a boolean`);
    opts[k] = o[k] as boolean;
  }
  if (o.tail !== undefined) {
    if (typeof o.tail !== 'number' || !Number.isInteger(o.tail) || o.tail < 0) throw new Error('options.tail: must be a non-negative integer');
    opts.tail = o.tail;
  }
  if (o.since !== undefined) {
    if (typeof o.since !== 'number' || !Number.isFinite(o.since) || o.since < 0) throw new Error('options.since: must be unix seconds');
    opts.since = o.since;
  }
  if (o.streams !== undefined) {
    if (!Array.isArray(o.streams) || o.streams.some((x) => x !== 'stdout' && x !== 'stderr')) throw new Error('options.streams: must be an array of "stdout" and "stderr"');
    opts.streams = o.streams as ('stdout' | 'stderr')[];
  }
  return { selector: sel, options: opts };
}

// ---- an async queue with a high-water mark (publishers wait while the reader is behind) -------------

export class LineQueue implements AsyncIterable<LogLine> {
  private readonly items: LogLine[] = [];
  private waiter: (() => void) | undefined;
  private readonly drained: (() => void)[] = [];
  private ended = false;
  private error: Error | undefined;

  constructor(private readonly highWater = 4096) {}

  push(lines: readonly LogLine[]): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.items.push(...lines);
    this.wake();
    if (this.items.length < this.highWater) return Promise.resolve();
    return new Promise((r) => this.drained.push(r));
  }

  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    this.wake();
    this.release();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private release(): void {
    for (const r of this.drained.splice(0)) r();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogLine> {
    try {
      for (;;) {
        if (this.items.length) {
          const batch = this.items.splice(0);
          this.release();
          for (const l of batch) yield l;
          continue;
        }
        if (this.ended) {
          if (this.error) throw this.error;
          return;
        }
        await new Promise<void>((r) => (this.waiter = r));
      }
    } finally {
      this.end();
    }
  }
}
