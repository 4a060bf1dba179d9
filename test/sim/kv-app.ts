// The application on every simulated node: a KV state machine fed by committed entries. Commands
// carry (client, seq) and the machine ignores a command whose seq is not above the client's last
// applied one, so a proposal duplicated by the network or retried takes effect at most once.
// Its snapshot is its serialized map plus that table.

import type { KvInput, KvOutput } from '../lin/kv-model.js';

export interface KvCommand {
  client: number;
  seq: number;
  input: Exclude<KvInput, { op: 'get' }>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeCommand(c: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  const v: unknown = JSON.parse(dec.decode(data));
  if (typeof v !== 'object' || v === null) throw new TypeError('kv command: not an object');
  const o = v as Record<string, unknown>;
  const input = o['input'] as Record<string, unknown> | undefined;
  if (typeof o['client'] !== 'number' || typeof o['seq'] !== 'number' || typeof input !== 'object' || input === null ||
    typeof input['key'] !== 'string' || !['put', 'delete', 'cas'].includes(String(input['op']))) {
    throw new TypeError('kv command: bad shape');
  }
  return v as KvCommand;
}

export class KvApp {
  data = new Map<string, string>();
  lastSeq = new Map<number, number>();

  /** Applies a command; returns its output, or undefined when it is a duplicate and was ignored. */
  apply(cmd: KvCommand): KvOutput | undefined {
    if ((this.lastSeq.get(cmd.client) ?? 0) >= cmd.seq) return undefined;
    this.lastSeq.set(cmd.client, cmd.seq);
    const i = cmd.input;
    if (i.op === 'put') { this.data.set(i.key, i.value); return { type: 'done' }; }
    if (i.op === 'delete') { this.data.delete(i.key); return { type: 'done' }; }
    const ok = (this.data.get(i.key) ?? null) === i.expect;
    if (ok) this.data.set(i.key, i.value);
    return { type: 'cas', ok };
  }

  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  serialize(): Uint8Array {
    return enc.encode(JSON.stringify({ data: [...this.data], lastSeq: [...this.lastSeq] }));
  }

  static restore(bytes: Uint8Array): KvApp {
    const app = new KvApp();
    if (bytes.length === 0) return app;
    const v: unknown = JSON.parse(dec.decode(bytes));
    const o = v as { data?: unknown; lastSeq?: unknown };
    if (!Array.isArray(o.data) || !Array.isArray(o.lastSeq)) throw new TypeError('kv snapshot: bad shape');
    app.data = new Map(o.data as Array<[string, string]>);
    app.lastSeq = new Map(o.lastSeq as Array<[number, number]>);
    return app;
  }
}
