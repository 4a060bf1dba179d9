// The shapes the linearizability checker works on: a history of operations and a sequential model.
//
// An operation is the interval [call, ret] on one clock in which a client waited for it. When the
// client never learned the outcome (timeout, crashed server, lost leader) the operation is
// "unknown": `ret` is Infinity (or `unknown` is true) and `output` is undefined. An unknown
// operation may have taken effect at any instant after its call, or never.

export interface Operation<I, O> {
  clientId: number;
  input: I;
  /** Undefined exactly when the outcome is unknown. */
  output: O | undefined;
  call: number;
  /** Infinity when the outcome is unknown. */
  ret: number;
  unknown?: boolean;
}

/** True when the client never learned how `op` ended. */
export function isUnknown<I, O>(op: Operation<I, O>): boolean {
  return op.unknown === true || op.ret === Infinity || op.output === undefined;
}

export interface StepResult<S> {
  ok: boolean;
  next: S;
}

export interface Partition<I, O> {
  key: string;
  ops: Operation<I, O>[];
}

/**
 * A sequential specification. `step` is called with `output === undefined` for an operation whose
 * outcome is unknown; it must then return ok with every state the operation could have produced
 * (a model whose state is a set of possibilities can fork here).
 */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  /** Splits a history into independent parts (P-compositionality); default: one part, key "". */
  partition?(ops: readonly Operation<I, O>[]): Partition<I, O>[];
  hash(state: S): number;
  equal(a: S, b: S): boolean;
  describeOperation(input: I, output: O | undefined): string;
  describeState(state: S): string;
}

export interface CheckBudget {
  /** Wall-clock budget for the whole check, in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Search steps per partition (default 5 000 000). */
  maxSteps?: number;
  /** Lowe's memoisation; on by default, off only to show what it buys. */
  memo?: boolean;
}

export type CheckResult =
  | { ok: true; result: 'linearizable' }
  | { ok: false; result: 'illegal'; key: string; explanation: string }
  | { ok: false; result: 'unknown'; key: string; reason: string };
