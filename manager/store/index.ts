// The replicated object store. Re-exports only.
export * from './objects.js';
export { StoreError, isStoreError, isConflict, OUT_OF_SEQUENCE, type StoreErrorCode } from './store-error.js';
export type { IndexName } from './table.js';
export type { ReadTx, WriteTx, Selector } from './transaction.js';
export { MemoryStore, type ApplyResult, type Prepared } from './memory-store.js';
export { ReplicatedStore, type Proposer, type ReplicatedStoreOptions, type UpdateResult, type AppliedEntry } from './replicated-store.js';
export { createStandaloneStore, createMemoryStore } from './standalone-store.js';
export { Watcher, type StoreEvent, type ChangeEvent, type CommitEvent, type WatchOptions } from './watch.js';
export { encodeBatch, decodeBatch, MAX_BATCH_BYTES, type Batch } from './batch-codec.js';
export { canonicalJson } from './canonical-json.js';
export { defaultSwarmSpec } from './defaults.js';
export { generateId, ID_LENGTH } from './ids.js';
export { BatchWriter, MAX_CHANGES_PER_TRANSACTION, type BatchLimits } from './batch-writer.js';
