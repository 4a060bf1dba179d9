/**
 * Large writes split into several transactions, as SwarmKit's store.Batch does: each `update`
 * callback runs in the open transaction; when the transaction holds `maxChanges` objects or about
 * `maxBytes` of them, it is committed (proposed and awaited) before the next callback runs, so later
 * callbacks read what earlier ones wrote. A callback that throws has only its own changes rolled back;
 * its error is returned to it and the batch goes on.
 */
import type { WriteTx } from './transaction.js';
import { WriteTxImpl } from './transaction.js';
import type { Change } from './objects.js';

/** SwarmKit's MaxChangesPerTransaction. */
export const MAX_CHANGES_PER_TRANSACTION = 200;

export interface BatchCommitter {
  /** a fresh write transaction over the current state */
  begin(): WriteTxImpl;
  /** proposes a batch and resolves with the index it was applied at */
  commit(changes: Change[]): Promise<number>;
}

export interface BatchLimits {
  maxChanges?: number;
  /** rough cap on a transaction's JSON size (default 1 MiB, below the 1.5 MiB proposal limit) */
  maxBytes?: number;
}

export class BatchWriter {
  private tx: WriteTxImpl;
  private bytes = 0;
  /** the indexes of the transactions committed so far */
  readonly indexes: number[] = [];
  changes = 0;

  constructor(
    private readonly committer: BatchCommitter,
    private readonly limits: BatchLimits = {},
  ) {
    this.tx = committer.begin();
  }

  /**
   * Runs `cb` in the open transaction. Resolves with its result (or rejects with its error, after
   * undoing its changes). Commits the transaction first when it is full.
   */
  async update<R>(cb: (tx: WriteTx) => R): Promise<R> {
    const mark = this.tx.mark();
    let result: R;
    try {
      result = cb(this.tx);
    } catch (e) {
      this.tx.rollbackTo(mark);
      throw e;
    }
    for (const o of this.tx.touchedSince(mark)) this.bytes += JSON.stringify(o).length;
    if (this.tx.size >= (this.limits.maxChanges ?? MAX_CHANGES_PER_TRANSACTION) || this.bytes >= (this.limits.maxBytes ?? 1024 * 1024)) {
      await this.flush();
    }
    return result;
  }

  /** Commits what the open transaction holds (nothing if empty). */
  async flush(): Promise<void> {
    const changes = this.tx.changes();
    this.tx = this.committer.begin();
    this.bytes = 0;
    if (changes.length === 0) return;
    this.indexes.push(await this.committer.commit(changes));
    this.changes += changes.length;
  }
}
