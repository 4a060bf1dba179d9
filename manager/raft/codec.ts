// Binary encoding of the Raft core's data types (proto/raft.proto, package shoal.raft) with protobufjs.
// The schema is loaded once, on first use. Decoding is an edge: every uint64 must fit in a JS number
// (≤ 2^53-1) and every enum must be a value the core knows, otherwise a CodecError is thrown.
// Entry, the hot path, has a hand-written encoder/decoder producing protobufjs's exact bytes.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import protobuf from 'protobufjs';
import type {
  ConfChangeSingle, ConfChangeV2, ConfState, Entry, HardState, Message, Snapshot, SnapshotMetadata,
} from './core/types.js';
import {
  ConfChangeTransition, ConfChangeType, EntryType, MessageType,
} from './core/types.js';

export class CodecError extends Error {
  constructor(what: string, detail: string) {
    super(`cannot decode ${what}: ${detail}`);
    this.name = 'CodecError';
  }
}

/** The marker a WAL keeps for each snapshot it has seen (walpb.Snapshot in etcd). */
export interface WalSnapshot {
  index: number;
  term: number;
  confState: ConfState;
}

/** The content of a .snap file: a CRC-32 of `data` and `data` (an encoded Snapshot). */
export interface SnapshotFileRecord {
  crc: number;
  data: Uint8Array;
}

/** Finds the repository's `proto/` folder by walking up from `start` (a file URL or a directory). */
export function findProtoDir(start: string = import.meta.url): string {
  let dir = start.startsWith('file:') ? dirname(fileURLToPath(start)) : start;
  for (;;) {
    const candidate = join(dir, 'proto', 'raft.proto');
    if (existsSync(candidate)) return join(dir, 'proto');
    const up = dirname(dir);
    if (up === dir) throw new Error(`proto/raft.proto not found above ${start}`);
    dir = up;
  }
}

interface Types {
  entry: protobuf.Type;
  hardState: protobuf.Type;
  confState: protobuf.Type;
  snapshot: protobuf.Type;
  snapshotMetadata: protobuf.Type;
  message: protobuf.Type;
  confChangeV2: protobuf.Type;
  walSnapshot: protobuf.Type;
  snapshotFile: protobuf.Type;
}

let types: Types | undefined;

function t(): Types {
  if (types !== undefined) return types;
  const root = protobuf.loadSync(join(findProtoDir(), 'raft.proto'));
  const get = (n: string): protobuf.Type => root.lookupType(`shoal.raft.${n}`);
  types = {
    entry: get('Entry'),
    hardState: get('HardState'),
    confState: get('ConfState'),
    snapshot: get('Snapshot'),
    snapshotMetadata: get('SnapshotMetadata'),
    message: get('Message'),
    confChangeV2: get('ConfChangeV2'),
    walSnapshot: get('WalSnapshot'),
    snapshotFile: get('SnapshotFile'),
  };
  return types;
}

// ---- decoding helpers (unknown → checked values) ----

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null) throw new CodecError(what, 'not an object');
  return v as Obj;
}

/** A uint64 as decoded by protobufjs (number or Long) → a safe integer. */
function u64(v: unknown, what: string, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new CodecError(what, `${field} out of range (${v})`);
    return v;
  }
  if (typeof v === 'object' && 'low' in v && 'high' in v) {
    const low = (v as { low: unknown }).low;
    const high = (v as { high: unknown }).high;
    if (typeof low !== 'number' || typeof high !== 'number') throw new CodecError(what, `${field} malformed`);
    const hi = high >>> 0;
    if (hi > 0x1fffff) throw new CodecError(what, `${field} out of range (above 2^53-1)`);
    return hi * 0x100000000 + (low >>> 0);
  }
  throw new CodecError(what, `${field} is not an integer`);
}

function bool(v: unknown): boolean {
  return v === true;
}

function bytes(v: unknown, what: string, field: string): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (v instanceof Uint8Array) {
    // A copy (never alias the input, which may be a whole WAL segment), as a plain Uint8Array view.
    // allocUnsafe takes small sizes from Node's shared pool, far cheaper than one ArrayBuffer each.
    if (v.length === 0) return new Uint8Array(0);
    const out = Buffer.allocUnsafe(v.length);
    out.set(v);
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
  if (Array.isArray(v) && v.length === 0) return new Uint8Array(0);
  throw new CodecError(what, `${field} is not bytes`);
}

const enumSets = new WeakMap<object, Set<unknown>>();

function enumValue<T extends number>(v: unknown, allowed: Record<string, T>, what: string, field: string): T {
  const n = v === undefined || v === null ? 0 : v;
  let set = enumSets.get(allowed);
  if (set === undefined) {
    set = new Set<unknown>(Object.values(allowed));
    enumSets.set(allowed, set);
  }
  if (set.has(n)) return n as T;
  throw new CodecError(what, `unknown ${field} ${String(n)}`);
}

function u64List(v: unknown, what: string, field: string): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CodecError(what, `${field} is not a list`);
  return v.map((x) => u64(x, what, field));
}

function decodeWith(type: protobuf.Type, b: Uint8Array, what: string): Obj {
  try {
    return obj(type.decode(b), what);
  } catch (e) {
    if (e instanceof CodecError) throw e;
    throw new CodecError(what, e instanceof Error ? e.message : String(e));
  }
}

// ---- plain objects → checked core types ----

function entryFrom(v: unknown): Entry {
  const o = obj(v, 'Entry');
  return {
    term: u64(o.term, 'Entry', 'term'),
    index: u64(o.index, 'Entry', 'index'),
    type: enumValue(o.type, EntryType, 'Entry', 'type'),
    data: bytes(o.data, 'Entry', 'data'),
  };
}

function hardStateFrom(v: unknown): HardState {
  const o = obj(v, 'HardState');
  return {
    term: u64(o.term, 'HardState', 'term'),
    vote: u64(o.vote, 'HardState', 'vote'),
    commit: u64(o.commit, 'HardState', 'commit'),
  };
}

function confStateFrom(v: unknown): ConfState {
  if (v === undefined || v === null) return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const o = obj(v, 'ConfState');
  return {
    voters: u64List(o.voters, 'ConfState', 'voters'),
    learners: u64List(o.learners, 'ConfState', 'learners'),
    votersOutgoing: u64List(o.votersOutgoing, 'ConfState', 'votersOutgoing'),
    learnersNext: u64List(o.learnersNext, 'ConfState', 'learnersNext'),
    autoLeave: bool(o.autoLeave),
  };
}

function metadataFrom(v: unknown): SnapshotMetadata {
  if (v === undefined || v === null) throw new CodecError('Snapshot', 'metadata missing');
  const o = obj(v, 'SnapshotMetadata');
  return {
    confState: confStateFrom(o.confState),
    index: u64(o.index, 'SnapshotMetadata', 'index'),
    term: u64(o.term, 'SnapshotMetadata', 'term'),
  };
}

function snapshotFrom(v: unknown): Snapshot {
  const o = obj(v, 'Snapshot');
  return { data: bytes(o.data, 'Snapshot', 'data'), metadata: metadataFrom(o.metadata) };
}

// ---- public API ----

// Entry is the hot path (every WAL record, every MsgApp entry), so it is encoded by hand, with the
// same bytes protobuf's canonical encoding gives: fields in number order, zero values omitted.

function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) { n = Math.floor(n / 128); len++; }
  return len;
}

function writeVarint(buf: Uint8Array, off: number, n: number): number {
  while (n >= 128) {
    buf[off++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

function checkU64(n: number, field: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new CodecError('Entry', `cannot encode ${field} ${n}: not a uint53`);
}

/** The encoded size of `e` (see writeEntry). */
export function entryEncodedLength(e: Entry): number {
  checkU64(e.term, 'term');
  checkU64(e.index, 'index');
  let n = 0;
  if (e.term !== 0) n += 1 + varintLength(e.term);
  if (e.index !== 0) n += 1 + varintLength(e.index);
  if (e.type !== 0) n += 1 + varintLength(e.type);
  if (e.data.length !== 0) n += 1 + varintLength(e.data.length) + e.data.length;
  return n;
}

/** Writes the protobuf encoding of `e` at `off` in `buf` (room for entryEncodedLength(e) bytes); returns the end offset. */
export function writeEntry(buf: Uint8Array, off: number, e: Entry): number {
  if (e.term !== 0) { buf[off++] = 0x08; off = writeVarint(buf, off, e.term); }
  if (e.index !== 0) { buf[off++] = 0x10; off = writeVarint(buf, off, e.index); }
  if (e.type !== 0) { buf[off++] = 0x18; off = writeVarint(buf, off, e.type); }
  if (e.data.length !== 0) {
    buf[off++] = 0x22;
    off = writeVarint(buf, off, e.data.length);
    buf.set(e.data, off);
    off += e.data.length;
  }
  return off;
}

export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(entryEncodedLength(e));
  writeEntry(out, 0, e);
  return out;
}

/** Hand-written decoder for Entry (WAL replay decodes every record): same checks as the rest. */
export function decodeEntry(b: Uint8Array): Entry {
  let term = 0;
  let index = 0;
  let type = 0;
  let data: Uint8Array | undefined;
  let off = 0;
  const varint = (field: string): number => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (off >= b.length) throw new CodecError('Entry', `truncated varint in ${field}`);
      const byte = b[off++]!;
      v += (byte & 0x7f) * mul;
      if (v > Number.MAX_SAFE_INTEGER) throw new CodecError('Entry', `${field} out of range (above 2^53-1)`);
      if (byte < 0x80) return v;
      mul *= 128;
    }
    throw new CodecError('Entry', `malformed varint in ${field}`);
  };
  while (off < b.length) {
    const key = varint('key');
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new CodecError('Entry', 'invalid field number 0');
    if (field >= 1 && field <= 3) {
      if (wire !== 0) throw new CodecError('Entry', `field ${field} has wire type ${wire}`);
      const v = varint(field === 1 ? 'term' : field === 2 ? 'index' : 'type');
      if (field === 1) term = v;
      else if (field === 2) index = v;
      else type = v;
    } else if (field === 4) {
      if (wire !== 2) throw new CodecError('Entry', `field 4 has wire type ${wire}`);
      const len = varint('data length');
      if (off + len > b.length) throw new CodecError('Entry', 'data runs past the end');
      data = bytes(b.subarray(off, off + len), 'Entry', 'data');
      off += len;
    } else {
      // An unknown field (a newer writer): skip it.
      if (wire === 0) varint('unknown field');
      else if (wire === 1) off += 8;
      else if (wire === 2) {
        const len = varint('unknown field length'); // read first: varint() moves `off`
        off += len;
      }
      else if (wire === 5) off += 4;
      else throw new CodecError('Entry', `unsupported wire type ${wire}`);
      if (off > b.length) throw new CodecError('Entry', 'unknown field runs past the end');
    }
  }
  return { term, index, type: enumValue(type, EntryType, 'Entry', 'type'), data: data ?? new Uint8Array(0) };
}

export function encodeHardState(hs: HardState): Uint8Array {
  return t().hardState.encode(hs).finish();
}

export function decodeHardState(b: Uint8Array): HardState {
  return hardStateFrom(decodeWith(t().hardState, b, 'HardState'));
}

export function encodeConfState(cs: ConfState): Uint8Array {
  return t().confState.encode(cs).finish();
}

export function decodeConfState(b: Uint8Array): ConfState {
  return confStateFrom(decodeWith(t().confState, b, 'ConfState'));
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  return t().snapshot.encode(s).finish();
}

export function decodeSnapshot(b: Uint8Array): Snapshot {
  return snapshotFrom(decodeWith(t().snapshot, b, 'Snapshot'));
}

// Messages without a snapshot (every MsgApp, response, heartbeat and vote) are encoded and decoded
// by hand, like entries: one exact-size buffer, no intermediate objects. A MsgSnap goes through
// protobufjs. Both sides produce and accept standard protobuf (fields in number order, zeros omitted).

function u64FieldLength(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new CodecError('Message', `cannot encode ${what} ${n}: not a uint53`);
  return n === 0 ? 0 : 1 + varintLength(n);
}

function writeU64Field(buf: Uint8Array, off: number, tag: number, n: number): number {
  if (n === 0) return off;
  buf[off++] = tag;
  return writeVarint(buf, off, n);
}

export function encodeMessage(m: Message): Uint8Array {
  if (m.snapshot !== undefined) return t().message.encode(m).finish();
  let n = u64FieldLength(m.type, 'type') + u64FieldLength(m.to, 'to') + u64FieldLength(m.from, 'from') +
    u64FieldLength(m.term, 'term') + u64FieldLength(m.logTerm, 'logTerm') + u64FieldLength(m.index, 'index') +
    u64FieldLength(m.commit, 'commit') + u64FieldLength(m.rejectHint, 'rejectHint') + (m.reject ? 2 : 0);
  const lens: number[] = [];
  for (const e of m.entries) {
    const l = entryEncodedLength(e);
    lens.push(l);
    n += 1 + varintLength(l) + l;
  }
  if (m.context.length > 0) n += 1 + varintLength(m.context.length) + m.context.length;
  const buf = Buffer.allocUnsafe(n);
  let off = writeU64Field(buf, 0, 0x08, m.type);
  off = writeU64Field(buf, off, 0x10, m.to);
  off = writeU64Field(buf, off, 0x18, m.from);
  off = writeU64Field(buf, off, 0x20, m.term);
  off = writeU64Field(buf, off, 0x28, m.logTerm);
  off = writeU64Field(buf, off, 0x30, m.index);
  for (let i = 0; i < m.entries.length; i++) {
    buf[off++] = 0x3a;
    off = writeVarint(buf, off, lens[i]!);
    off = writeEntry(buf, off, m.entries[i]!);
  }
  off = writeU64Field(buf, off, 0x40, m.commit);
  if (m.reject) { buf[off++] = 0x50; buf[off++] = 1; }
  off = writeU64Field(buf, off, 0x58, m.rejectHint);
  if (m.context.length > 0) {
    buf[off++] = 0x62;
    off = writeVarint(buf, off, m.context.length);
    buf.set(m.context, off);
    off += m.context.length;
  }
  if (off !== n) throw new CodecError('Message', `encoded ${off} bytes, expected ${n}`);
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}

/** Reads a varint at `at.off` (moving it); checks the 2^53 bound. */
function readVarint(b: Uint8Array, at: { off: number }, what: string): number {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 10; k++) {
    if (at.off >= b.length) throw new CodecError('Message', `truncated varint in ${what}`);
    const byte = b[at.off++]!;
    v += (byte & 0x7f) * mul;
    if (v > Number.MAX_SAFE_INTEGER) throw new CodecError('Message', `${what} out of range (above 2^53-1)`);
    if (byte < 0x80) return v;
    mul *= 128;
  }
  throw new CodecError('Message', `malformed varint in ${what}`);
}

const MESSAGE_U64_FIELDS = ['', 'type', 'to', 'from', 'term', 'logTerm', 'index', '', 'commit', '', 'reject', 'rejectHint'] as const;

export function decodeMessage(b: Uint8Array): Message {
  const m: Message = {
    type: MessageType.Hup, to: 0, from: 0, term: 0, logTerm: 0, index: 0, entries: [], commit: 0,
    reject: false, rejectHint: 0, context: new Uint8Array(0),
  };
  let type = 0;
  const at = { off: 0 };
  while (at.off < b.length) {
    const key = readVarint(b, at, 'key');
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new CodecError('Message', 'invalid field number 0');
    if (field === 9) return decodeMessageGeneric(b); // a snapshot: the rare, large case
    if (field === 7 || field === 12) {
      if (wire !== 2) throw new CodecError('Message', `field ${field} has wire type ${wire}`);
      const len = readVarint(b, at, 'length');
      if (at.off + len > b.length) throw new CodecError('Message', `field ${field} runs past the end`);
      const sub = b.subarray(at.off, at.off + len);
      at.off += len;
      if (field === 7) m.entries.push(decodeEntry(sub));
      else m.context = bytes(sub, 'Message', 'context');
    } else if (field <= 11 && MESSAGE_U64_FIELDS[field] !== '') {
      if (wire !== 0) throw new CodecError('Message', `field ${field} has wire type ${wire}`);
      const v = readVarint(b, at, MESSAGE_U64_FIELDS[field]!);
      switch (field) {
        case 1: type = v; break;
        case 2: m.to = v; break;
        case 3: m.from = v; break;
        case 4: m.term = v; break;
        case 5: m.logTerm = v; break;
        case 6: m.index = v; break;
        case 8: m.commit = v; break;
        case 10: m.reject = v !== 0; break;
        default: m.rejectHint = v;
      }
    } else {
      // An unknown field (a newer writer): skip it.
      if (wire === 0) readVarint(b, at, 'unknown field');
      else if (wire === 1) at.off += 8;
      else if (wire === 2) {
        const len = readVarint(b, at, 'unknown field length'); // read first: it moves at.off
        at.off += len;
      }
      else if (wire === 5) at.off += 4;
      else throw new CodecError('Message', `unsupported wire type ${wire}`);
      if (at.off > b.length) throw new CodecError('Message', 'unknown field runs past the end');
    }
  }
  m.type = enumValue(type, MessageType, 'Message', 'type');
  return m;
}

function decodeMessageGeneric(b: Uint8Array): Message {
  const o = decodeWith(t().message, b, 'Message');
  const entries = o.entries === undefined || o.entries === null ? [] : o.entries;
  if (!Array.isArray(entries)) throw new CodecError('Message', 'entries is not a list');
  const m: Message = {
    type: enumValue(o.type, MessageType, 'Message', 'type'),
    to: u64(o.to, 'Message', 'to'),
    from: u64(o.from, 'Message', 'from'),
    term: u64(o.term, 'Message', 'term'),
    logTerm: u64(o.logTerm, 'Message', 'logTerm'),
    index: u64(o.index, 'Message', 'index'),
    entries: entries.map(entryFrom),
    commit: u64(o.commit, 'Message', 'commit'),
    reject: bool(o.reject),
    rejectHint: u64(o.rejectHint, 'Message', 'rejectHint'),
    context: bytes(o.context, 'Message', 'context'),
  };
  if (o.snapshot !== undefined && o.snapshot !== null) m.snapshot = snapshotFrom(o.snapshot);
  return m;
}

export function encodeConfChangeV2(cc: ConfChangeV2): Uint8Array {
  return t().confChangeV2.encode(cc).finish();
}

export function decodeConfChangeV2(b: Uint8Array): ConfChangeV2 {
  const o = decodeWith(t().confChangeV2, b, 'ConfChangeV2');
  const changes = o.changes === undefined || o.changes === null ? [] : o.changes;
  if (!Array.isArray(changes)) throw new CodecError('ConfChangeV2', 'changes is not a list');
  return {
    transition: enumValue(o.transition, ConfChangeTransition, 'ConfChangeV2', 'transition'),
    changes: changes.map((c): ConfChangeSingle => {
      const co = obj(c, 'ConfChangeSingle');
      return {
        type: enumValue(co.type, ConfChangeType, 'ConfChangeSingle', 'type'),
        nodeId: u64(co.nodeId, 'ConfChangeSingle', 'nodeId'),
      };
    }),
    context: bytes(o.context, 'ConfChangeV2', 'context'),
  };
}

export function encodeWalSnapshot(s: WalSnapshot): Uint8Array {
  return t().walSnapshot.encode(s).finish();
}

export function decodeWalSnapshot(b: Uint8Array): WalSnapshot {
  const o = decodeWith(t().walSnapshot, b, 'WalSnapshot');
  return {
    index: u64(o.index, 'WalSnapshot', 'index'),
    term: u64(o.term, 'WalSnapshot', 'term'),
    confState: confStateFrom(o.confState),
  };
}

/**
 * The bytes of encodeSnapshotFile({crc, data: encodeSnapshot(s)}) as a few parts, the snapshot's
 * data among them uncopied, with the CRC computed over the parts: a large snapshot is written with
 * writev instead of being copied three times through protobufjs.
 */
export function encodeSnapshotFileParts(s: Snapshot): { parts: Uint8Array[]; crc: number } {
  const { dataHead, metaHead, meta } = snapshotPieces(s);
  let crc = crc32(dataHead);
  crc = crc32(s.data, crc);
  return finishSnapshotFileParts(s, dataHead, metaHead, meta, crc);
}

/**
 * As encodeSnapshotFileParts, with the CRC over the data computed `chunk` bytes per event-loop turn,
 * so a large snapshot does not hold the loop for the whole pass.
 */
export async function encodeSnapshotFilePartsAsync(s: Snapshot, chunk = 1 << 20): Promise<{ parts: Uint8Array[]; crc: number }> {
  const { dataHead, metaHead, meta } = snapshotPieces(s);
  let crc = crc32(dataHead);
  for (let off = 0; off < s.data.length; off += chunk) {
    if (off > 0) await new Promise<void>((r) => setImmediate(r));
    crc = crc32(s.data.subarray(off, Math.min(s.data.length, off + chunk)), crc);
  }
  return finishSnapshotFileParts(s, dataHead, metaHead, meta, crc);
}

function snapshotPieces(s: Snapshot): { dataHead: Uint8Array; metaHead: Uint8Array; meta: Uint8Array } {
  const meta = t().snapshotMetadata.encode(s.metadata).finish();
  const dataHead = s.data.length > 0 ? Buffer.from([0x0a, ...varintBytes(s.data.length)]) : Buffer.alloc(0);
  const metaHead = Buffer.from([0x12, ...varintBytes(meta.length)]);
  return { dataHead, metaHead, meta };
}

function finishSnapshotFileParts(s: Snapshot, dataHead: Uint8Array, metaHead: Uint8Array, meta: Uint8Array, crcOfData: number): { parts: Uint8Array[]; crc: number } {
  let crc = crc32(metaHead, crcOfData);
  crc = crc32(meta, crc);
  const snapLen = dataHead.length + s.data.length + metaHead.length + meta.length;
  const fileHead = Buffer.from([...(crc !== 0 ? [0x08, ...varintBytes(crc >>> 0)] : []), 0x12, ...varintBytes(snapLen)]);
  return { parts: [fileHead, dataHead, s.data, metaHead, meta].filter((p) => p.length > 0), crc: crc >>> 0 };
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) { out.push((n % 128) | 128); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

export function encodeSnapshotFile(f: SnapshotFileRecord): Uint8Array {
  return t().snapshotFile.encode(f).finish();
}

export function decodeSnapshotFile(b: Uint8Array): SnapshotFileRecord {
  const o = decodeWith(t().snapshotFile, b, 'SnapshotFile');
  const crc = o.crc === undefined || o.crc === null ? 0 : o.crc;
  if (typeof crc !== 'number' || !Number.isInteger(crc) || crc < 0 || crc > 0xffffffff) {
    throw new CodecError('SnapshotFile', 'crc is not a uint32');
  }
  return { crc, data: bytes(o.data, 'SnapshotFile', 'data') };
}
