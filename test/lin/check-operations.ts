// Checks a history against a model: partition (P-compositionality), search each part, and for a
// part that is not linearizable find the shortest failing prefix and describe it.

import { isUnknown, type CheckBudget, type CheckResult, type Model, type Operation, type Partition } from './model.js';
import { eventOrder, searchPartition, type SearchLimits } from './search-partition.js';

/** Unknown ops get ret = Infinity and no output, whichever way the caller marked them. */
function normalise<I, O>(ops: readonly Operation<I, O>[]): Operation<I, O>[] {
  return ops.map((op) => (isUnknown(op) ? { ...op, ret: Infinity, output: undefined, unknown: true } : op));
}

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  budget: CheckBudget = {},
): CheckResult {
  for (const op of history) {
    if (!(op.call <= op.ret)) throw new RangeError(`operation returns before it is called: call ${op.call}, ret ${op.ret}`);
  }
  const ops = normalise(history);
  const parts: Partition<I, O>[] = model.partition ? model.partition(ops) : [{ key: '', ops }];
  const limits: SearchLimits = {
    deadline: Date.now() + (budget.timeoutMs ?? 10_000),
    maxSteps: budget.maxSteps ?? 5_000_000,
    memo: budget.memo ?? true,
  };
  for (const part of parts) {
    const out = searchPartition(model, part.ops, limits);
    if (out.result === 'unknown') return { ok: false, result: 'unknown', key: part.key, reason: out.reason };
    if (out.result === 'illegal') {
      return { ok: false, result: 'illegal', key: part.key, explanation: explain(model, part, limits) };
    }
  }
  return { ok: true, result: 'linearizable' };
}

/**
 * The ops of `ops` visible after the first k events: an op whose return is not among them is
 * treated as unknown. Non-linearizability is monotone in k, so a binary search finds the first k.
 */
function prefix<I, O>(ops: readonly Operation<I, O>[], order: ReturnType<typeof eventOrder>, k: number): { ops: Operation<I, O>[]; ids: number[] } {
  const called = new Set<number>();
  const returned = new Set<number>();
  for (let i = 0; i < k; i++) (order[i]!.isCall ? called : returned).add(order[i]!.id);
  const ids = [...called].sort((a, b) => a - b);
  return {
    ids,
    ops: ids.map((id) => (returned.has(id) ? ops[id]! : { ...ops[id]!, ret: Infinity, output: undefined, unknown: true })),
  };
}

function fmtTime(t: number): string {
  return t === Infinity ? '∞' : String(t);
}

function explain<S, I, O>(model: Model<S, I, O>, part: Partition<I, O>, limits: SearchLimits): string {
  const order = eventOrder(part.ops as readonly Operation<unknown, unknown>[]).filter((e) => e.time !== Infinity);
  let lo = 1;
  let hi = order.length; // the full history is known to fail
  let exact = true;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const out = searchPartition(model, prefix(part.ops, order, mid).ops, limits);
    if (out.result === 'unknown') { exact = false; break; }
    if (out.result === 'illegal') hi = mid;
    else lo = mid + 1;
  }
  const k = exact ? hi : order.length;
  const { ops, ids } = prefix(part.ops, order, k);
  const out = searchPartition(model, ops, { ...limits, deadline: Infinity, maxSteps: Math.max(limits.maxSteps, 1) });
  const last = order[k - 1]!;
  const lines: string[] = [];
  lines.push(`key ${JSON.stringify(part.key)}: not linearizable.`);
  lines.push(
    `${exact ? 'Shortest' : 'A'} failing prefix: ${ops.length} of ${part.ops.length} operations, ` +
      `up to the return of #${last.id} at t=${fmtTime(last.time)}:`,
  );
  ops.forEach((op, i) => {
    const id = ids[i]!;
    const mark = id === last.id ? '   <- cannot be linearized' : '';
    lines.push(
      `  #${id} client ${op.clientId} [${fmtTime(op.call)}, ${fmtTime(op.ret)}] ` +
        `${model.describeOperation(op.input, op.output)}${op.output === undefined ? ' (outcome unknown)' : ''}${mark}`,
    );
  });
  if (out.result === 'illegal') {
    let state = model.init();
    const steps = out.longest.map((i) => {
      const op = ops[i]!;
      state = model.step(state, op.input, op.output).next;
      return `#${ids[i]} ${model.describeOperation(op.input, op.output)} => ${model.describeState(state)}`;
    });
    lines.push(`Longest linearization found (${steps.length} ops) from ${model.describeState(model.init())}:`);
    for (const s of steps) lines.push(`  ${s}`);
    lines.push('after which no pending operation is consistent with the model.');
  }
  return lines.join('\n');
}
