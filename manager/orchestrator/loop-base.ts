/**
 * The shell shared by the leader loops: a store watch that marks the loop dirty, one reconcile pass at a
 * time (passes never overlap; events during a pass cause one more pass), timers from an injected
 * source, and a failed write (a racing REST update, a lost leadership) logged and retried shortly.
 */
import type { LeaderLoop, LeaderLoopContext } from '../node/leader-loop.js';
import type { TableName, Watcher } from '../store/index.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

const RETRY_MS = 50;

export abstract class ReconcileLoop implements LeaderLoop {
  abstract readonly name: string;
  protected abstract readonly tables: readonly TableName[];
  protected ctx!: LeaderLoopContext;
  private watcher: Watcher | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private scheduled = false;
  private stopped = true;
  private readonly handles = new Set<unknown>();

  constructor(protected readonly timers: Timers = realTimers) {}

  /** One pass: read the store, decide, write. Throwing retries after a short delay. */
  protected abstract reconcile(): Promise<void>;

  protected onStart(): void {}
  protected onStop(): void {}

  start(ctx: LeaderLoopContext): void {
    this.ctx = ctx;
    this.stopped = false;
    const w = ctx.store.watch({ tables: this.tables, queueLimit: 1_000_000 });
    this.watcher = w;
    this.onStart();
    void (async () => {
      try {
        for await (const _ of w) this.kick();
      } catch (e) {
        if (!this.stopped) ctx.log.warn({ loop: this.name, err: (e as Error).message }, 'watch ended; restarting');
        if (!this.stopped) this.start(ctx);
      }
    })();
    this.kick();
  }

  /** Asks for a pass soon (coalesced). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pass();
    });
  }

  /** Asks for a pass in `ms` (restart delays, update delays, monitor windows). */
  kickAfter(ms: number): void {
    if (this.stopped) return;
    const h = this.timers.setTimeout(() => {
      this.handles.delete(h);
      this.kick();
    }, Math.max(0, ms));
    this.handles.add(h);
  }

  private pass(): void {
    if (this.stopped || this.running) return;
    this.again = false;
    this.running = this.reconcile()
      .catch((e: unknown) => {
        if (!this.stopped) {
          this.ctx.log.debug({ loop: this.name, err: (e as Error).message }, 'pass failed; retrying');
          this.kickAfter(RETRY_MS);
        }
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) this.kick();
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    for (const h of this.handles) this.timers.clearTimeout(h);
    this.handles.clear();
    this.onStop();
    await this.running;
  }

  protected nowIso(): string {
    return new Date(this.ctx.now()).toISOString();
  }

  /** 16 random bytes from the context's random source, for object IDs. */
  protected randomBytes = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.ctx.random() * 256);
    return b;
  };
}
