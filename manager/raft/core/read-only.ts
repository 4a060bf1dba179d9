// Pending ReadIndex requests on the leader (etcd-io/raft read_only.go): each waits for a quorum of
// heartbeat acks carrying its context (safe mode) before it is answered with the recorded index.

import type { Message, NodeId } from './types.js';

export type ReadOnlyOption = 'safe' | 'lease-based';

export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Map<NodeId, boolean>;
}

/** A stable string key for an opaque context. */
export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i] as number);
  return s;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  /** Queues a request read at `index`; a duplicate context is ignored. */
  addRequest(index: number, m: Message): void {
    const k = ctxKey(m.context);
    if (this.pending.has(k)) return;
    this.pending.set(k, { index, req: m, acks: new Map() });
    this.queue.push(k);
  }

  /** Records an ack from `id` for the request `ctx`; returns the acks so far (undefined if unknown). */
  recvAck(id: NodeId, ctx: Uint8Array): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Dequeues every request up to and including the one with `ctx`, in order. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const k = ctxKey(ctx);
    const at = this.queue.indexOf(k);
    if (at < 0) return [];
    const keys = this.queue.splice(0, at + 1);
    const out: ReadIndexStatus[] = [];
    for (const key of keys) {
      const rs = this.pending.get(key);
      if (!rs) throw new Error('read-only: cannot find the status of a pending read index request');
      this.pending.delete(key);
      out.push(rs);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : (this.pending.get(k) as ReadIndexStatus).req.context;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
