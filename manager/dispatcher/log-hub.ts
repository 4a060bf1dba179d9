/**
 * The leader's log subscriptions: which nodes each subscription went to, which have not finished, the
 * queue its lines go into. The Dispatcher owns one and tells it about sessions and task changes; the hub
 * never touches the store or the network itself (targets and sends are callbacks).
 */
import { randomBytes } from 'node:crypto';
import type { Task } from '../store/index.js';
import { stateOrder } from '../orchestrator/task-state.js';
import {
  LineQueue, normalizeLogOptions, type LogLine, type LogSelector, type LogStreamOptions, type PublishLogsRequest, type SubscriptionMessage,
} from './logs.js';
import type { Timers } from './dispatcher.js';

/** conmon writes "…+00:00"; Docker's log timestamps end in "Z". */
export function utcZ(ts: string): string {
  return ts.endsWith('+00:00') ? `${ts.slice(0, -6)}Z` : ts;
}

export interface LogHubDeps {
  /** the tasks a selector names, by node (read from the store) */
  targets(selector: LogSelector): Map<string, Task[]>;
  /** sends to the node's ListenSubscriptions stream; false when it has none open */
  send(nodeId: string, msg: SubscriptionMessage): boolean;
  timers: Timers;
  /** a non-following subscription whose pending nodes say nothing for this long ends (default 30 s) */
  idleMs?: number;
}

interface Sub {
  msg: SubscriptionMessage;
  selector: LogSelector;
  queue: LineQueue;
  /** nodes the subscription was sent to */
  nodes: Set<string>;
  /** nodes that have not closed their part (not following) */
  pending: Set<string>;
  idle?: unknown;
}

export class LogHub {
  private readonly subs = new Map<string, Sub>();

  constructor(private readonly d: LogHubDeps) {}

  get size(): number {
    return this.subs.size;
  }

  subscribe(selector: LogSelector, options: LogStreamOptions, signal?: AbortSignal): AsyncIterable<LogLine> {
    const id = randomBytes(12).toString('hex');
    const msg: SubscriptionMessage = {
      id,
      selector: {
        ...(selector.serviceIds?.length ? { serviceIds: [...selector.serviceIds] } : {}),
        ...(selector.taskIds?.length ? { taskIds: [...selector.taskIds] } : {}),
      },
      options: normalizeLogOptions(options),
    };
    const queue = new LineQueue();
    const sub: Sub = { msg, selector, queue, nodes: new Set(), pending: new Set() };
    this.subs.set(id, sub);
    for (const nodeId of this.d.targets(selector).keys()) this.sendTo(sub, nodeId);
    const onAbort = (): void => this.finish(id);
    if (signal?.aborted) this.finish(id);
    else signal?.addEventListener('abort', onAbort, { once: true });
    this.checkDone(sub);
    this.armIdle(sub);
    // the reader stopping (return/break) ends the subscription too
    const hub = this;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const l of queue) yield l;
        } finally {
          signal?.removeEventListener('abort', onAbort);
          hub.finish(id);
        }
      },
    };
  }

  private sendTo(sub: Sub, nodeId: string): void {
    if (sub.nodes.has(nodeId)) return;
    if (!this.d.send(nodeId, sub.msg)) return; // node not connected: nothing can come from it
    sub.nodes.add(nodeId);
    if (!sub.msg.options.follow) sub.pending.add(nodeId);
  }

  private checkDone(sub: Sub): void {
    if (!sub.msg.options.follow && sub.pending.size === 0) this.finish(sub.msg.id);
  }

  private armIdle(sub: Sub): void {
    if (sub.msg.options.follow) return;
    if (sub.idle !== undefined) this.d.timers.clearTimeout(sub.idle);
    sub.idle = this.d.timers.setTimeout(() => {
      sub.idle = undefined;
      this.finish(sub.msg.id);
    }, this.d.idleMs ?? 30_000);
  }

  /** Ends a subscription: the reader's stream ends, the agents are told to stop. */
  finish(id: string, err?: Error): void {
    const sub = this.subs.get(id);
    if (!sub) return;
    this.subs.delete(id);
    if (sub.idle !== undefined) this.d.timers.clearTimeout(sub.idle);
    sub.queue.end(err);
    for (const nodeId of sub.nodes) if (sub.msg.options.follow || sub.pending.has(nodeId)) this.d.send(nodeId, { ...sub.msg, close: true });
  }

  /** Lines from an agent; resolves when the reader has room (backpressure). Answers whether to go on. */
  async publish(nodeId: string, req: PublishLogsRequest): Promise<{ stop: boolean }> {
    const sub = this.subs.get(req.subscriptionId);
    if (!sub || !sub.nodes.has(nodeId)) return { stop: true };
    this.armIdle(sub);
    const lines: LogLine[] = [];
    for (const m of req.messages ?? []) {
      if (!m || typeof m.taskId !== 'string' || typeof m.data !== 'string') continue;
      lines.push({
        context: { serviceId: String(m.serviceId ?? ''), nodeId, taskId: m.taskId },
        timestamp: utcZ(String(m.timestamp ?? '')),
        stream: m.stream === 'stderr' ? 'stderr' : 'stdout',
        data: Buffer.from(m.data, 'base64'),
      });
    }
    if (lines.length) await sub.queue.push(lines);
    if (req.close) {
      sub.pending.delete(nodeId);
      this.checkDone(sub);
    }
    return { stop: sub.queue.isEnded };
  }

  /** A node opened its ListenSubscriptions stream: following subscriptions that cover its tasks go to it. */
  nodeListening(nodeId: string): void {
    for (const sub of this.subs.values()) {
      if (!sub.msg.options.follow || sub.nodes.has(nodeId)) continue;
      if (this.d.targets({ ...sub.selector, nodeIds: [nodeId] }).has(nodeId)) this.sendTo(sub, nodeId);
    }
  }

  /** A node's session ended: it will send nothing more. */
  nodeGone(nodeId: string): void {
    for (const sub of [...this.subs.values()]) {
      if (!sub.nodes.has(nodeId)) continue;
      sub.nodes.delete(nodeId);
      sub.pending.delete(nodeId);
      this.checkDone(sub);
    }
  }

  /** A task changed: a following subscription of its service reaches a node that just got one. */
  taskChanged(t: Task): void {
    if (!t.NodeID || stateOrder(t.Status.State) < stateOrder('assigned')) return;
    for (const sub of this.subs.values()) {
      if (!sub.msg.options.follow || sub.nodes.has(t.NodeID)) continue;
      if (!(sub.selector.serviceIds ?? []).includes(t.ServiceID)) continue;
      if (sub.selector.nodeIds?.length && !sub.selector.nodeIds.includes(t.NodeID)) continue;
      this.sendTo(sub, t.NodeID);
    }
  }

  /** Leadership lost: every subscription ends with this error. */
  closeAll(err: Error): void {
    for (const id of [...this.subs.keys()]) this.finish(id, err);
  }
}
