// Generates a linearizable KV history from a seed (each op takes effect at a random instant inside its
// interval), for tests and benchmarks of the checker. Deterministic: randomness is seededRandom.

import { seededRandom } from '../../manager/raft/core/types.js';
import type { KvInput, KvOperation, KvOutput } from './kv-model.js';

export interface RandomKvHistoryOptions {
  seed: number;
  clients: number;
  opsPerClient: number;
  keys: number;
  /** Fraction (0..1) of writes whose client never learns the outcome; some of them never take effect. */
  unknownFraction?: number;
}

export function randomKvHistory(o: RandomKvHistoryOptions): KvOperation[] {
  const rnd = seededRandom(o.seed);
  const pending: Array<{ op: KvOperation; at: number; applies: boolean }> = [];
  let serial = 0;
  for (let c = 0; c < o.clients; c++) {
    let t = rnd(10);
    for (let i = 0; i < o.opsPerClient; i++) {
      const key = `k${rnd(o.keys)}`;
      const call = t;
      const ret = call + 1 + rnd(30);
      const kind = rnd(10);
      const value = `c${c}-${serial++}`;
      const input: KvInput = kind < 4 ? { op: 'get', key } :
        kind < 7 ? { op: 'put', key, value } :
        kind < 8 ? { op: 'delete', key } :
        { op: 'cas', key, expect: rnd(2) === 0 ? null : `c${rnd(o.clients)}-${rnd(Math.max(serial, 1))}`, value };
      const unknown = input.op !== 'get' && rnd(1000) < (o.unknownFraction ?? 0) * 1000;
      const op: KvOperation = { clientId: c, input, output: undefined, call, ret: unknown ? Infinity : ret };
      pending.push({ op, at: call + rnd(ret - call + 1), applies: !unknown || rnd(2) === 0 });
      t = ret + rnd(5);
    }
  }
  pending.sort((a, b) => a.at - b.at);
  const store = new Map<string, string>();
  for (const p of pending) {
    if (!p.applies) continue;
    const inp = p.op.input;
    let out: KvOutput;
    if (inp.op === 'get') out = { type: 'value', value: store.get(inp.key) ?? null };
    else if (inp.op === 'put') { store.set(inp.key, inp.value); out = { type: 'done' }; }
    else if (inp.op === 'delete') { store.delete(inp.key); out = { type: 'done' }; }
    else {
      const ok = (store.get(inp.key) ?? null) === inp.expect;
      if (ok) store.set(inp.key, inp.value);
      out = { type: 'cas', ok };
    }
    if (p.op.ret !== Infinity) p.op.output = out;
  }
  return pending.map((p) => p.op).sort((a, b) => a.call - b.call || a.clientId - b.clientId);
}
