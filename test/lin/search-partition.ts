// Wing & Gong's backtracking search with Lowe's memoisation, on one partition of a history.
//
// The history becomes a doubly linked list of call and return entries sorted by time (a call sorts
// before a return at the same instant, so touching intervals count as concurrent). The search walks
// the list: at a call it tries to linearize that operation now (the model accepts it and the pair
// (linearized set, state) has not been seen before), lifting the call and its return out of the
// list; reaching a return means the operation it closes should already have been linearized, so the
// search backtracks. An unknown operation's return sits at +Infinity: it may be linearized at any
// point after its call, including after everything else (which stands for "never took effect").

import { Bitset } from './bitset.js';
import type { Model, Operation } from './model.js';

interface Entry {
  isCall: boolean;
  id: number;
  time: number;
  prev: Entry | null;
  next: Entry | null;
  /** For a call: its return entry. */
  match: Entry | null;
}

export type SearchOutcome =
  | { result: 'ok' }
  | { result: 'illegal'; longest: number[] }
  | { result: 'unknown'; reason: string };

export interface SearchLimits {
  deadline: number;
  maxSteps: number;
  memo: boolean;
}

/** Sorts ops' call and return events: by time, calls before returns at a tie, then by op id. */
export function eventOrder(ops: readonly Operation<unknown, unknown>[]): Array<{ isCall: boolean; id: number; time: number }> {
  const ev: Array<{ isCall: boolean; id: number; time: number }> = [];
  ops.forEach((op, id) => {
    ev.push({ isCall: true, id, time: op.call });
    ev.push({ isCall: false, id, time: op.ret });
  });
  ev.sort((a, b) => (a.time - b.time) || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));
  return ev;
}

function buildList(ops: readonly Operation<unknown, unknown>[]): Entry {
  const head: Entry = { isCall: false, id: -1, time: -Infinity, prev: null, next: null, match: null };
  const calls = new Map<number, Entry>();
  let last = head;
  for (const e of eventOrder(ops)) {
    const entry: Entry = { isCall: e.isCall, id: e.id, time: e.time, prev: last, next: null, match: null };
    if (e.isCall) calls.set(e.id, entry);
    else calls.get(e.id)!.match = entry;
    last.next = entry;
    last = entry;
  }
  return head;
}

function lift(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next) e.next.prev = e.prev;
  const m = e.match!;
  m.prev!.next = m.next;
  if (m.next) m.next.prev = m.prev;
}

function unlift(e: Entry): void {
  const m = e.match!;
  m.prev!.next = m;
  if (m.next) m.next.prev = m;
  e.prev!.next = e;
  if (e.next) e.next.prev = e;
}

/** Runs the search. `ops` must already carry ret = Infinity and output undefined for unknown ops. */
export function searchPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  limits: SearchLimits,
): SearchOutcome {
  const head = buildList(ops as readonly Operation<unknown, unknown>[]);
  const cache = new Map<number, Array<{ bits: Bitset; state: S }>>();
  const linearized = new Bitset(ops.length);
  const stack: Array<{ entry: Entry; state: S }> = [];
  let longest: number[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;

  while (head.next !== null) {
    if (++steps > limits.maxSteps) return { result: 'unknown', reason: `step budget of ${limits.maxSteps} exhausted` };
    if ((steps & 1023) === 0 && Date.now() > limits.deadline) return { result: 'unknown', reason: 'time budget exhausted' };
    if (entry === null) throw new Error('linearizability search fell off the end of the history list');
    if (entry.isCall) {
      const op = ops[entry.id]!;
      const r = model.step(state, op.input, op.output);
      let take = r.ok;
      if (take && limits.memo) {
        linearized.set(entry.id);
        const h = (Math.imul(linearized.hash(), 31) + model.hash(r.next)) >>> 0;
        const bucket = cache.get(h);
        if (bucket?.some((c) => c.bits.equals(linearized) && model.equal(c.state, r.next))) {
          take = false;
        } else {
          const item = { bits: linearized.clone(), state: r.next };
          if (bucket) bucket.push(item);
          else cache.set(h, [item]);
        }
        linearized.clear(entry.id);
      }
      if (take) {
        stack.push({ entry, state });
        linearized.set(entry.id);
        state = r.next;
        lift(entry);
        if (stack.length > longest.length) longest = stack.map((s) => s.entry.id);
        entry = head.next;
      } else {
        entry = entry.next;
      }
    } else {
      // A return whose call is still in the list: that op cannot be linearized on this path.
      const top = stack.pop();
      if (top === undefined) return { result: 'illegal', longest };
      state = top.state;
      linearized.clear(top.entry.id);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { result: 'ok' };
}
