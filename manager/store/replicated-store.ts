/**
 * The store replicated through Raft. A write is validated against the current state on the leader,
 * encoded as one batch, proposed, and applied when Raft commits it — through `applyCommitted`, the
 * same path on every manager, the leader included (nothing is applied twice). At apply time the batch
 * is checked again, so of two writes racing on one version the later one fails on every replica alike
 * and only its caller sees the error.
 *
 * The store knows Raft only through `Proposer`; the Raft driver calls `applyCommitted` for every
 * committed entry in order, and `snapshot`/`restore` for Raft snapshots.
 */
import { randomUUID } from 'node:crypto';
import type { ReadTx, WriteTx } from './transaction.js';
import { type BatchLimits, BatchWriter } from './batch-writer.js';
import type { Change } from './objects.js';
import { type ApplyResult, MemoryStore } from './memory-store.js';
import { MAX_BATCH_BYTES, decodeBatch, encodeBatch } from './batch-codec.js';
import { StoreError } from './store-error.js';
import type { WatchOptions, Watcher } from './watch.js';

export interface Proposer {
  /** Proposes an entry; resolves with its log index once committed, rejects if it cannot be. */
  propose(data: Uint8Array): Promise<{ index: number }>;
  isLeader(): boolean;
}

export interface ReplicatedStoreOptions {
  proposer: Proposer;
  /** names this store in its proposals (e.g. the node ID); a random suffix is added per instance */
  origin: string;
  /** the suffix instead of a random UUID (deterministic simulations); must differ per instance */
  instanceId?: string;
  /** the time stamped into written objects (RFC 3339); read on the proposing manager only */
  now: () => string;
  /** how many applied batches watchFrom can replay (default 1024) */
  historyBatches?: number;
  /** entries larger than this are refused before proposing (default 1.5 MiB) */
  maxBatchBytes?: number;
}

export interface UpdateResult<R> {
  result: R;
  /** the Raft index the write was applied at (the objects' new Meta.Version.Index) */
  index: number;
}

interface Waiting {
  resolve: (index: number) => void;
  reject: (e: StoreError) => void;
  /** the index the proposer reported, once known */
  index?: number;
}

/** What applyCommitted did with an entry. */
export type AppliedEntry =
  | ApplyResult
  | { ok: false; index: number; error: StoreError; undecodable: true }
  /** the index was already applied (e.g. replayed after a snapshot restore): nothing done */
  | { ok: true; index: number; alreadyApplied: true };

export class ReplicatedStore {
  readonly memory: MemoryStore;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();

  /** opts.origin plus a random suffix: unique even if a restarted manager reuses its origin */
  private readonly origin: string;

  constructor(private readonly opts: ReplicatedStoreOptions) {
    this.memory = new MemoryStore(opts.historyBatches);
    this.origin = `${opts.origin}/${opts.instanceId ?? randomUUID()}`;
  }

  get appliedIndex(): number {
    return this.memory.appliedIndex;
  }

  view<R>(fn: (tx: ReadTx) => R): R {
    return this.memory.view(fn);
  }

  watch(opts?: WatchOptions): Watcher {
    return this.memory.watch(opts);
  }

  /** Replays events after `index` from the kept history, then continues live (see MemoryStore.watchFrom). */
  watchFrom(index: number, opts?: WatchOptions): Watcher {
    return this.memory.watchFrom(index, opts);
  }

  viewAndWatch<R>(fn: (tx: ReadTx) => R, opts?: WatchOptions): { result: R; watcher: Watcher } {
    return this.memory.viewAndWatch(fn, opts);
  }

  /**
   * Runs `fn` in a write transaction, proposes the batch and resolves once it is applied. Rejects with
   * StoreError: 'not-leader' on a follower; version/name/existence errors at once (before proposing) or
   * after commit if a racing write got in first; 'proposal-failed' if Raft refused it.
   */
  update<R>(fn: (tx: WriteTx) => R): Promise<UpdateResult<R>> {
    try {
      if (!this.opts.proposer.isLeader()) throw new StoreError('not-leader', 'this manager is not the leader');
      const { result, changes } = this.memory.prepare(fn, this.opts.now());
      if (changes.length === 0) return Promise.resolve({ result, index: this.memory.appliedIndex });
      return this.proposeChanges(changes).then((index) => ({ result, index }));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * A large write in several transactions (SwarmKit's Batch): `fn` calls `await b.update(tx => …)` as
   * often as it likes; every `maxChanges` (200) objects the open transaction is committed. Resolves with
   * the indexes of the committed transactions. A failed commit rejects (earlier ones stay committed).
   */
  async batch(fn: (b: BatchWriter) => Promise<void>, limits?: BatchLimits): Promise<{ indexes: number[]; changes: number }> {
    if (!this.opts.proposer.isLeader()) throw new StoreError('not-leader', 'this manager is not the leader');
    const now = this.opts.now();
    const b = new BatchWriter(
      {
        begin: () => this.memory.beginWrite(now),
        commit: (changes) => this.proposeChanges(changes),
      },
      limits,
    );
    await fn(b);
    await b.flush();
    return { indexes: b.indexes, changes: b.changes };
  }

  /** Encodes, proposes and waits for the apply of an already checked batch. */
  private proposeChanges(changes: Change[]): Promise<number> {
    const seq = ++this.seq;
    const data = encodeBatch({ origin: this.origin, seq, changes });
    const limit = this.opts.maxBatchBytes ?? MAX_BATCH_BYTES;
    if (data.byteLength > limit) {
      return Promise.reject(new StoreError('too-large', `store batch of ${data.byteLength} bytes is over the ${limit}-byte limit`));
    }
    return new Promise<number>((resolve, reject) => {
      const w: Waiting = { resolve, reject };
      this.waiting.set(seq, w);
      let proposed: Promise<{ index: number }>;
      try {
        proposed = this.opts.proposer.propose(data);
      } catch (e) {
        proposed = Promise.reject(e);
      }
      proposed.then(
        ({ index }) => {
          if (!this.waiting.has(seq)) return;
          w.index = index;
          // Raft committed something else at that index (our entry was overwritten): lost.
          if (index <= this.memory.appliedIndex) this.fail(seq, lost(index));
        },
        (e: unknown) => {
          this.fail(seq, new StoreError('proposal-failed', `proposal failed: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
        },
      );
    });
  }

  private fail(seq: number, e: StoreError): void {
    const w = this.waiting.get(seq);
    if (!w) return;
    this.waiting.delete(seq);
    w.reject(e);
  }

  /**
   * Applies the committed entry at `index` (every manager, in log order; gaps are fine, e.g. for
   * configuration-change entries the driver keeps to itself). An entry that does not decode as a store
   * batch changes nothing but still advances the applied index on every replica alike. An index at or
   * below the applied one is ignored (a replay after restoring a snapshot).
   */
  applyCommitted(data: Uint8Array, index: number): AppliedEntry {
    if (index <= this.memory.appliedIndex) return { ok: true, index, alreadyApplied: true };
    if (data.byteLength === 0) {
      this.memory.skip(index);
      this.settleOverdue(index);
      return { ok: true, index };
    }
    let batch;
    try {
      batch = decodeBatch(data);
    } catch (e) {
      this.memory.skip(index);
      this.settleOverdue(index);
      return { ok: false, index, error: e as StoreError, undecodable: true };
    }
    const r = this.memory.apply(batch.changes, index, true);
    if (batch.origin === this.origin) {
      const w = this.waiting.get(batch.seq);
      if (w) {
        this.waiting.delete(batch.seq);
        if (r.ok) w.resolve(index);
        else w.reject(r.error);
      }
    }
    this.settleOverdue(index);
    return r;
  }

  /** Callers whose entry's index has passed without their entry being applied lost their proposal. */
  private settleOverdue(applied: number): void {
    for (const [seq, w] of this.waiting) {
      if (w.index !== undefined && w.index <= applied) this.fail(seq, lost(w.index));
    }
  }

  snapshot(): Uint8Array {
    return this.memory.snapshot();
  }

  /** Installs a Raft snapshot. Writes whose entries it covers get 'outcome-unknown' (read again). */
  restore(data: Uint8Array): void {
    this.memory.restore(data);
    const at = this.memory.appliedIndex;
    for (const [seq, w] of this.waiting) {
      if (w.index !== undefined && w.index <= at) {
        this.fail(seq, new StoreError('outcome-unknown', `write at index ${w.index} was overtaken by a snapshot at ${at}; read again`));
      }
    }
  }

  /** Rejects every waiting write (e.g. leadership lost and the driver is stopping). */
  abortPending(reason: string): void {
    for (const seq of [...this.waiting.keys()]) this.fail(seq, new StoreError('proposal-failed', reason));
  }

  close(): void {
    this.abortPending('store closed');
    this.memory.close();
  }
}

function lost(index: number): StoreError {
  return new StoreError('proposal-failed', `proposal lost: another entry was committed at index ${index}`);
}
