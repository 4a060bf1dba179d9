// Wire encoding of proto/raft-transport.proto, written by hand with protobufjs' Reader/Writer (the
// messages are tiny and this sits on the hot path). Decoding is an edge: unknown input is checked
// and a TransportWireError is thrown for anything malformed.
import protobuf from 'protobufjs';
import type { NodeId } from '../core/types.js';

export class TransportWireError extends Error {
  constructor(what: string, detail: string) {
    super(`cannot decode ${what}: ${detail}`);
    this.name = 'TransportWireError';
  }
}

export interface MessageBatch {
  from: NodeId;
  messages: Uint8Array[];
}

export interface SnapshotChunk {
  from: NodeId;
  totalBytes: number;
  data: Uint8Array;
}

export interface SnapshotAck {
  ok: boolean;
  error: string;
}

function readU64(r: protobuf.Reader, what: string): number {
  const v = r.uint64();
  const n = typeof v === 'number' ? v : (v.high >>> 0) * 0x100000000 + (v.low >>> 0);
  if (!Number.isSafeInteger(n)) throw new TransportWireError(what, 'integer above 2^53-1');
  return n;
}

function decodeLoop(b: Uint8Array, what: string, field: (r: protobuf.Reader, tag: number) => boolean): void {
  const r = protobuf.Reader.create(b);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (!field(r, tag)) r.skipType(tag & 7);
    }
  } catch (e) {
    if (e instanceof TransportWireError) throw e;
    throw new TransportWireError(what, e instanceof Error ? e.message : String(e));
  }
}

export function encodeBatch(b: MessageBatch): Buffer {
  const w = protobuf.Writer.create();
  if (b.from !== 0) w.uint32((1 << 3) | 0).uint64(b.from);
  for (const m of b.messages) w.uint32((2 << 3) | 2).bytes(m);
  return Buffer.from(w.finish());
}

export function decodeBatch(b: Uint8Array): MessageBatch {
  const out: MessageBatch = { from: 0, messages: [] };
  decodeLoop(b, 'MessageBatch', (r, tag) => {
    if (tag === ((1 << 3) | 0)) { out.from = readU64(r, 'MessageBatch.from'); return true; }
    if (tag === ((2 << 3) | 2)) { out.messages.push(r.bytes()); return true; }
    return false;
  });
  return out;
}

export function encodeChunk(c: SnapshotChunk): Buffer {
  const w = protobuf.Writer.create();
  if (c.from !== 0) w.uint32((1 << 3) | 0).uint64(c.from);
  if (c.totalBytes !== 0) w.uint32((2 << 3) | 0).uint64(c.totalBytes);
  if (c.data.length > 0) w.uint32((3 << 3) | 2).bytes(c.data);
  return Buffer.from(w.finish());
}

export function decodeChunk(b: Uint8Array): SnapshotChunk {
  const out: SnapshotChunk = { from: 0, totalBytes: 0, data: new Uint8Array(0) };
  decodeLoop(b, 'SnapshotChunk', (r, tag) => {
    if (tag === ((1 << 3) | 0)) { out.from = readU64(r, 'SnapshotChunk.from'); return true; }
    if (tag === ((2 << 3) | 0)) { out.totalBytes = readU64(r, 'SnapshotChunk.total_bytes'); return true; }
    if (tag === ((3 << 3) | 2)) { out.data = r.bytes(); return true; }
    return false;
  });
  return out;
}

export function encodeSnapshotAck(a: SnapshotAck): Buffer {
  const w = protobuf.Writer.create();
  if (a.ok) w.uint32((1 << 3) | 0).bool(true);
  if (a.error !== '') w.uint32((2 << 3) | 2).string(a.error);
  return Buffer.from(w.finish());
}

export function decodeSnapshotAck(b: Uint8Array): SnapshotAck {
  const out: SnapshotAck = { ok: false, error: '' };
  decodeLoop(b, 'SnapshotAck', (r, tag) => {
    if (tag === ((1 << 3) | 0)) { out.ok = r.bool(); return true; }
    if (tag === ((2 << 3) | 2)) { out.error = r.string(); return true; }
    return false;
  });
  return out;
}

/** StreamAck is empty; anything decodes to it. */
export function encodeStreamAck(): Buffer {
  return Buffer.alloc(0);
}
