// A key-value register model (get, put, delete, compare-and-set) for the linearizability checker.
//
// The state of one key is the SET of values it may hold (null = absent): an operation whose outcome
// is unknown forks the possibilities (it took effect at this point, or it did not), and a completed
// operation filters and merges them again, as etcd's robustness model does.

import type { Model, Operation, Partition, StepResult } from './model.js';

export type KvInput =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expect: string | null; value: string };

export type KvOutput =
  | { type: 'value'; value: string | null }
  | { type: 'cas'; ok: boolean }
  | { type: 'done' };

/** Sorted, duplicate-free list of the values a key may hold. */
export type KvState = readonly (string | null)[];

export type KvOperation = Operation<KvInput, KvOutput>;

function union(states: KvState, v: string | null): KvState {
  if (states.includes(v)) return states;
  return [...states, v].sort(cmp);
}

function cmp(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function q(v: string | null): string {
  return v === null ? 'nil' : JSON.stringify(v);
}

function stepKv(states: KvState, input: KvInput, output: KvOutput | undefined): StepResult<KvState> {
  const fail = { ok: false, next: states };
  switch (input.op) {
    case 'get': {
      if (output === undefined) return { ok: true, next: states };
      if (output.type !== 'value') return fail;
      return states.includes(output.value) ? { ok: true, next: [output.value] } : fail;
    }
    case 'put':
    case 'delete': {
      const v = input.op === 'put' ? input.value : null;
      if (output === undefined) return { ok: true, next: union(states, v) };
      return output.type === 'done' ? { ok: true, next: [v] } : fail;
    }
    case 'cas': {
      const canSucceed = states.includes(input.expect);
      if (output === undefined) return { ok: true, next: canSucceed ? union(states, input.value) : states };
      if (output.type !== 'cas') return fail;
      if (output.ok) return canSucceed ? { ok: true, next: [input.value] } : fail;
      const rest = states.filter((s) => s !== input.expect);
      return rest.length > 0 ? { ok: true, next: rest } : fail;
    }
  }
}

function hashString(s: string, h: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

export function describeKv(input: KvInput, output: KvOutput | undefined): string {
  const res = output === undefined ? '?' :
    output.type === 'value' ? q(output.value) :
    output.type === 'cas' ? (output.ok ? 'ok' : 'failed') : 'ok';
  switch (input.op) {
    case 'get': return `get(${input.key}) -> ${res}`;
    case 'put': return `put(${input.key}, ${q(input.value)}) -> ${res}`;
    case 'delete': return `delete(${input.key}) -> ${res}`;
    case 'cas': return `cas(${input.key}, ${q(input.expect)} => ${q(input.value)}) -> ${res}`;
  }
}

/** Builds the KV model; one partition per key, and gets with unknown outcome are dropped (they say nothing). */
export function kvModel(): Model<KvState, KvInput, KvOutput> {
  return {
    init: () => [null],
    step: stepKv,
    partition(ops: readonly KvOperation[]): Partition<KvInput, KvOutput>[] {
      const byKey = new Map<string, KvOperation[]>();
      for (const op of ops) {
        if (op.input.op === 'get' && op.output === undefined) continue;
        const list = byKey.get(op.input.key);
        if (list) list.push(op);
        else byKey.set(op.input.key, [op]);
      }
      return [...byKey.keys()].sort().map((key) => ({ key, ops: byKey.get(key)! }));
    },
    hash(states: KvState): number {
      let h = 0x811c9dc5;
      for (const s of states) h = hashString(s === null ? '\u0000nil' : s, Math.imul(h ^ 0x7c, 0x01000193));
      return h >>> 0;
    },
    equal(a: KvState, b: KvState): boolean {
      return a.length === b.length && a.every((v, i) => v === b[i]);
    },
    describeOperation: describeKv,
    describeState(states: KvState): string {
      return states.length === 1 ? q(states[0]!) : `one of {${states.map(q).join(', ')}}`;
    },
  };
}
