/** Why a store operation was refused. `code` is stable; the message is for people. */
export type StoreErrorCode =
  | 'out-of-sequence' // update named a version that is no longer the stored one
  | 'exists' // create of an ID that exists
  | 'name-conflict' // another object of the table already has this name
  | 'not-found' // update/delete/lookup of a missing object
  | 'ambiguous' // an ID prefix matches more than one object
  | 'invalid' // malformed object, batch or snapshot
  | 'not-leader' // writes are only accepted on the Raft leader
  | 'too-large' // an encoded batch is over the proposal limit
  | 'proposal-failed' // the proposer refused or lost the proposal
  | 'outcome-unknown' // the proposal's fate was overtaken by a snapshot restore
  | 'watcher-overflow' // a watcher fell too far behind and was closed
  | 'compacted' // watchFrom asked for events older than the history kept
  | 'closed'; // the watcher or store was closed

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}

/** The message SwarmKit (and Docker's API) gives for a stale version. */
export const OUT_OF_SEQUENCE = 'update out of sequence';

/** A write refused because the store changed under it or the object clashes (HTTP 409 in Docker's API). */
export function isConflict(e: unknown): e is StoreError {
  return e instanceof StoreError && (e.code === 'out-of-sequence' || e.code === 'exists' || e.code === 'name-conflict');
}
