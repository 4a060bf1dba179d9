// Small constructors for hand-written KV histories in the checker's tests.
import type { KvOperation, KvOutput } from '../../lin/kv-model.js';

const done: KvOutput = { type: 'done' };

export function put(clientId: number, call: number, ret: number, key: string, value: string, unknown = false): KvOperation {
  return { clientId, call, ret: unknown ? Infinity : ret, input: { op: 'put', key, value }, output: unknown ? undefined : done };
}

export function del(clientId: number, call: number, ret: number, key: string): KvOperation {
  return { clientId, call, ret, input: { op: 'delete', key }, output: done };
}

export function get(clientId: number, call: number, ret: number, key: string, value: string | null): KvOperation {
  return { clientId, call, ret, input: { op: 'get', key }, output: { type: 'value', value } };
}

export function cas(
  clientId: number, call: number, ret: number, key: string, expect: string | null, value: string, ok: boolean | undefined,
): KvOperation {
  return {
    clientId, call, ret: ok === undefined ? Infinity : ret,
    input: { op: 'cas', key, expect, value },
    output: ok === undefined ? undefined : { type: 'cas', ok },
  };
}
