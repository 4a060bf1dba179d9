// Linearizable reads waiting on ReadIndex. Reads that arrive while a request is in flight share the
// next request (etcd batches reads the same way); each waiter resolves once applied ≥ its read index.
import type { RaftNodeError } from './raft-errors.js';
import { RaftTimeoutError } from './raft-errors.js';

interface Waiter {
  resolve(): void;
  reject(e: RaftNodeError): void;
  deadline: number;
}

export class ReadWaiters {
  private queued: Waiter[] = [];
  private inFlight = new Map<string, Waiter[]>();
  private sentAt = new Map<string, number>();
  private ready: Array<{ index: number; waiters: Waiter[] }> = [];
  private counter = 0;

  /** A request unanswered for retryMs (lost message, leader busy) is re-sent with its waiters. */
  constructor(private readonly timeoutMs: number, private readonly retryMs = 1000) {}

  add(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ resolve, reject, deadline: Date.now() + this.timeoutMs });
    });
  }

  /** True when reads are queued and no request is in flight. */
  needsRequest(): boolean {
    return this.queued.length > 0 && this.inFlight.size === 0;
  }

  /** Moves the queued reads into a new request and returns its context, if one should be sent. */
  nextRequest(): Uint8Array | undefined {
    if (!this.needsRequest()) return undefined;
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setFloat64(0, ++this.counter);
    this.inFlight.set(key(ctx), this.queued);
    this.sentAt.set(key(ctx), Date.now());
    this.queued = [];
    return ctx;
  }

  failRequest(ctx: Uint8Array, e: RaftNodeError): void {
    const ws = this.inFlight.get(key(ctx));
    if (ws === undefined) return;
    this.inFlight.delete(key(ctx));
    this.sentAt.delete(key(ctx));
    for (const w of ws) w.reject(e);
  }

  readState(ctx: Uint8Array, index: number): void {
    const ws = this.inFlight.get(key(ctx));
    if (ws === undefined) return;
    this.inFlight.delete(key(ctx));
    this.sentAt.delete(key(ctx));
    this.ready.push({ index, waiters: ws });
  }

  release(applied: number): void {
    if (this.ready.length === 0) return;
    const keep: Array<{ index: number; waiters: Waiter[] }> = [];
    for (const r of this.ready) {
      if (r.index <= applied) for (const w of r.waiters) w.resolve();
      else keep.push(r);
    }
    this.ready = keep;
  }

  /** Rejects waiters past their deadline; a lost request is forgotten so the next one can go. */
  expire(): void {
    const now = Date.now();
    const expired = (ws: Waiter[]): Waiter[] => {
      const live: Waiter[] = [];
      for (const w of ws) {
        if (w.deadline < now) w.reject(new RaftTimeoutError('linearizable read', this.timeoutMs));
        else live.push(w);
      }
      return live;
    };
    this.queued = expired(this.queued);
    for (const [k, ws] of [...this.inFlight]) {
      const live = expired(ws);
      if (live.length === 0 || now - (this.sentAt.get(k) ?? now) > this.retryMs) {
        this.inFlight.delete(k);
        this.sentAt.delete(k);
        this.queued.push(...live);
      } else this.inFlight.set(k, live);
    }
    this.ready = this.ready.map((r) => ({ index: r.index, waiters: expired(r.waiters) })).filter((r) => r.waiters.length > 0);
  }

  failAll(e: RaftNodeError): void {
    for (const w of this.queued) w.reject(e);
    for (const ws of this.inFlight.values()) for (const w of ws) w.reject(e);
    for (const r of this.ready) for (const w of r.waiters) w.reject(e);
    this.queued = [];
    this.inFlight.clear();
    this.sentAt.clear();
    this.ready = [];
  }
}

function key(ctx: Uint8Array): string {
  return Buffer.from(ctx).toString('hex');
}
