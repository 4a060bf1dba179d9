/**
 * Store watchers: typed events delivered after a batch is applied, in commit order. Each watcher has a
 * bounded queue; a watcher that falls behind is closed with an error, it never blocks apply.
 */
import type { ChangeAction, ObjectByTable, TableName } from './objects.js';
import { StoreError } from './store-error.js';

export type ChangeEvent = {
  [T in TableName]: {
    kind: 'change';
    action: ChangeAction;
    table: T;
    /** the object after the change (for delete: the object as it was) */
    object: ObjectByTable[T];
    /** the object before an update or delete */
    oldObject?: ObjectByTable[T];
    /** the Raft index of the batch */
    index: number;
  };
}[TableName];

/** Sent after every applied batch that produced changes, to watchers that ask for it. */
export interface CommitEvent {
  kind: 'commit';
  index: number;
}

export type StoreEvent = ChangeEvent | CommitEvent;

export interface WatchOptions {
  tables?: readonly TableName[];
  actions?: readonly ChangeAction[];
  filter?: (e: ChangeEvent) => boolean;
  /** also deliver a commit event after each batch */
  commits?: boolean;
  /** events held before the watcher is closed as too slow (default 10000) */
  queueLimit?: number;
}

export class Watcher implements AsyncIterable<StoreEvent> {
  private readonly queue: StoreEvent[] = [];
  private head = 0;
  /** consumers waiting for an event (more than one if next() is called again before it settles) */
  private readonly waiters: { resolve: (r: IteratorResult<StoreEvent>) => void; reject: (e: unknown) => void }[] = [];
  private closedWith: StoreError | null | undefined; // undefined = open, null = closed cleanly

  constructor(
    private readonly opts: WatchOptions,
    private readonly onClose: (w: Watcher) => void,
  ) {}

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Queue length (for tests and metrics). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** @internal called by the hub after apply */
  offer(e: StoreEvent): void {
    if (this.closed) return;
    if (e.kind === 'change') {
      if (this.opts.tables && !this.opts.tables.includes(e.table)) return;
      if (this.opts.actions && !this.opts.actions.includes(e.action)) return;
      if (this.opts.filter) {
        let keep: boolean;
        try {
          keep = this.opts.filter(e);
        } catch (err) {
          // A broken filter must not break apply: only this watcher pays.
          this.close(new StoreError('closed', `watch filter threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
          return;
        }
        if (!keep) return;
      }
    } else if (!this.opts.commits) return;
    const w = this.waiters.shift();
    if (w) {
      w.resolve({ value: e, done: false });
      return;
    }
    const limit = this.opts.queueLimit ?? 10000;
    if (this.pending >= limit) {
      this.close(new StoreError('watcher-overflow', `watcher fell behind: ${limit} events queued`));
      return;
    }
    this.queue.push(e);
  }

  /** Ends the watcher; with an error, the consumer's next read throws it. */
  close(err?: StoreError): void {
    if (this.closed) return;
    this.closedWith = err ?? null;
    if (err) {
      this.queue.length = 0;
      this.head = 0;
    }
    this.onClose(this);
    for (const w of this.waiters.splice(0)) {
      if (err) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<StoreEvent>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.closedWith === null) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<StoreEvent> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  watch(opts: WatchOptions = {}): Watcher {
    const w = new Watcher(opts, (x) => this.watchers.delete(x));
    this.watchers.add(w);
    return w;
  }

  publish(events: readonly StoreEvent[]): void {
    for (const w of [...this.watchers]) for (const e of events) w.offer(e);
  }

  closeAll(err?: StoreError): void {
    for (const w of [...this.watchers]) w.close(err);
  }

  get size(): number {
    return this.watchers.size;
  }
}
