// Re-exports of the linearizability checker (no work here).
export type { Operation, Model, StepResult, Partition, CheckBudget, CheckResult } from './model.js';
export { isUnknown } from './model.js';
export { checkOperations } from './check-operations.js';
export { kvModel, describeKv } from './kv-model.js';
export type { KvInput, KvOutput, KvState, KvOperation } from './kv-model.js';
export { randomKvHistory } from './random-kv-history.js';
