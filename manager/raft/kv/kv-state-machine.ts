// An example replicated key-value store on RaftNode: binary commands (put, delete, compare-and-put),
// a revision per key (the log index that last wrote it), JSON snapshots.
//   command = op:u8 keyLen:u32 key valueLen:u32 value [expectedLen:i32 expected]   (big-endian)
//   op 1 = put, 2 = delete, 3 = put-if (expectedLen -1 means "key absent")
import type { StateMachine } from '../raft-node.js';

export class KvCommandError extends Error {
  constructor(message: string) { super(message); this.name = 'KvCommandError'; }
}

export type KvCommand =
  | { op: 'put'; key: Uint8Array; value: Uint8Array }
  | { op: 'delete'; key: Uint8Array }
  | { op: 'cas'; key: Uint8Array; value: Uint8Array; expected: Uint8Array | null };

export interface KvResult { revision: number; succeeded: boolean; prev: Uint8Array | undefined }

const OPS = { put: 1, delete: 2, cas: 3 } as const;

export function encodeKvCommand(c: KvCommand): Uint8Array {
  const value = c.op === 'delete' ? new Uint8Array(0) : c.value;
  const expected = c.op === 'cas' ? c.expected : null;
  const size = 1 + 4 + c.key.length + 4 + value.length + (c.op === 'cas' ? 4 + (expected?.length ?? 0) : 0);
  const out = Buffer.allocUnsafe(size); // from Node's shared pool: no ArrayBuffer per command
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let o = 0;
  out[o++] = OPS[c.op];
  dv.setUint32(o, c.key.length); o += 4; out.set(c.key, o); o += c.key.length;
  dv.setUint32(o, value.length); o += 4; out.set(value, o); o += value.length;
  if (c.op === 'cas') {
    dv.setInt32(o, expected === null ? -1 : expected.length); o += 4;
    if (expected !== null) out.set(expected, o);
  }
  return new Uint8Array(out.buffer, out.byteOffset, size);
}

export function decodeKvCommand(b: Uint8Array): KvCommand {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  const need = (n: number): void => { if (o + n > b.length) throw new KvCommandError(`truncated command (${b.length} bytes)`); };
  need(1);
  const op = b[o++];
  need(4); const kl = dv.getUint32(o); o += 4; need(kl); const key = b.subarray(o, o + kl); o += kl;
  need(4); const vl = dv.getUint32(o); o += 4; need(vl); const value = b.subarray(o, o + vl); o += vl;
  if (op === OPS.put) return { op: 'put', key, value };
  if (op === OPS.delete) return { op: 'delete', key };
  if (op === OPS.cas) {
    need(4); const el = dv.getInt32(o); o += 4;
    if (el < 0) return { op: 'cas', key, value, expected: null };
    need(el);
    return { op: 'cas', key, value, expected: b.subarray(o, o + el) };
  }
  throw new KvCommandError(`unknown op ${String(op)}`);
}

// Keys and values are held as latin1 strings (one heap object each, no ArrayBuffer to track): with
// hundreds of thousands of keys this keeps the garbage collector's work per key small.
interface Item { value: string; revision: number }

const k = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export class KvStateMachine implements StateMachine {
  private items = new Map<string, Item>();
  private lastIndex = 0;

  apply(data: Uint8Array, index: number): KvResult {
    this.lastIndex = index;
    const c = decodeKvCommand(data);
    const key = k(c.key);
    const prev = this.items.get(key);
    const prevValue = (): Uint8Array | undefined => (prev === undefined ? undefined : Buffer.from(prev.value, 'latin1'));
    if (c.op === 'delete') {
      this.items.delete(key);
      return { revision: index, succeeded: prev !== undefined, prev: prevValue() };
    }
    if (c.op === 'cas') {
      const ok = c.expected === null ? prev === undefined : prev !== undefined && prev.value === k(c.expected);
      if (!ok) return { revision: index, succeeded: false, prev: prevValue() };
    }
    this.items.set(key, { value: k(c.value), revision: index });
    return { revision: index, succeeded: true, prev: prevValue() };
  }

  get(key: Uint8Array): { value: Uint8Array; revision: number } | undefined {
    const it = this.items.get(k(key));
    return it === undefined ? undefined : { value: new Uint8Array(Buffer.from(it.value, 'latin1')), revision: it.revision };
  }

  get size(): number { return this.items.size; }
  get appliedIndex(): number { return this.lastIndex; }

  /** Binary: magic "KV1", lastIndex f64, count u32, then per item keyLen u32 key valueLen u32 value revision f64. */
  snapshot(): Uint8Array {
    let size = 3 + 8 + 4;
    for (const [key, it] of this.items) size += 4 + key.length + 4 + it.value.length + 8;
    const out = Buffer.allocUnsafe(size);
    let o = out.write('KV1', 0, 'latin1');
    out.writeDoubleBE(this.lastIndex, o); o += 8;
    out.writeUInt32BE(this.items.size, o); o += 4;
    for (const [key, it] of this.items) {
      out.writeUInt32BE(key.length, o); o += 4;
      o += out.write(key, o, 'latin1');
      out.writeUInt32BE(it.value.length, o); o += 4;
      o += out.write(it.value, o, 'latin1');
      out.writeDoubleBE(it.revision, o); o += 8;
    }
    return out;
  }

  restore(data: Uint8Array): void {
    this.items = new Map();
    this.lastIndex = 0;
    if (data.length === 0) return;
    const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (b.length < 15 || b.toString('latin1', 0, 3) !== 'KV1') throw new KvCommandError('snapshot is not a KV snapshot');
    let o = 3;
    const need = (n: number): void => { if (o + n > b.length) throw new KvCommandError('truncated KV snapshot'); };
    const li = b.readDoubleBE(o); o += 8;
    const n = b.readUInt32BE(o); o += 4;
    for (let i = 0; i < n; i++) {
      need(4); const kl = b.readUInt32BE(o); o += 4; need(kl); const key = b.toString('latin1', o, o + kl); o += kl;
      need(4); const vl = b.readUInt32BE(o); o += 4; need(vl); const value = b.toString('latin1', o, o + vl); o += vl;
      need(8); const revision = b.readDoubleBE(o); o += 8;
      this.items.set(key, { value, revision });
    }
    this.lastIndex = li;
  }
}
