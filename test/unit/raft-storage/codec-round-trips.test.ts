// The codec turns every core type into bytes and back without loss, and refuses bytes that decode to
// values the core cannot represent (unknown enums, uint64 above 2^53-1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import {
  CodecError, findProtoDir, decodeConfChangeV2, decodeEntry, decodeHardState, decodeMessage, decodeSnapshot, decodeWalSnapshot,
  encodeConfChangeV2, encodeEntry, encodeHardState, encodeMessage, encodeSnapshot, encodeWalSnapshot,
} from '../../../manager/raft/codec.js';
import type { ConfState, Entry, Message, Snapshot } from '../../../manager/raft/core/types.js';
import { MessageType, seededRandom } from '../../../manager/raft/core/types.js';

const MAX = Number.MAX_SAFE_INTEGER;

test('an entry survives a round trip, including the largest safe index and empty data', () => {
  for (const e of [
    { term: 0, index: 0, type: 0, data: new Uint8Array(0) },
    { term: MAX, index: MAX, type: 1, data: new Uint8Array([0, 1, 255]) },
  ] as Entry[]) {
    assert.deepEqual(decodeEntry(encodeEntry(e)), e);
  }
});

test('a hard state survives a round trip', () => {
  const hs = { term: 7, vote: 3, commit: 2 ** 40 };
  assert.deepEqual(decodeHardState(encodeHardState(hs)), hs);
});

test('a snapshot survives a round trip with its joint configuration', () => {
  const s: Snapshot = {
    data: new Uint8Array([9, 8, 7]),
    metadata: {
      index: 100, term: 4,
      confState: { voters: [1, 2, 3], learners: [4], votersOutgoing: [1, 2], learnersNext: [5], autoLeave: true },
    },
  };
  assert.deepEqual(decodeSnapshot(encodeSnapshot(s)), s);
});

test('a conf change and a WAL snapshot marker survive a round trip', () => {
  const cc = { transition: 2 as const, changes: [{ type: 3 as const, nodeId: 9 }, { type: 1 as const, nodeId: 2 }], context: new Uint8Array([1]) };
  assert.deepEqual(decodeConfChangeV2(encodeConfChangeV2(cc)), cc);
  const ws = { index: 5, term: 2, confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } };
  assert.deepEqual(decodeWalSnapshot(encodeWalSnapshot(ws)), ws);
});

function randomMessage(r: (n: number) => number): Message {
  const num = (): number => (r(4) === 0 ? 0 : r(4) === 0 ? MAX - r(1000) : r(1_000_000));
  const bytes = (): Uint8Array => Uint8Array.from({ length: r(20) }, () => r(256));
  const ids = (): number[] => Array.from({ length: r(4) }, () => 1 + r(100));
  const types = Object.values(MessageType);
  const m: Message = {
    type: types[r(types.length)]!,
    to: num(), from: num(), term: num(), logTerm: num(), index: num(), commit: num(),
    entries: Array.from({ length: r(5) }, () => ({ term: num(), index: num(), type: r(2) as 0 | 1, data: bytes() })),
    reject: r(2) === 1, rejectHint: num(), context: bytes(),
  };
  if (r(3) === 0) {
    const cs: ConfState = { voters: ids(), learners: ids(), votersOutgoing: ids(), learnersNext: ids(), autoLeave: r(2) === 1 };
    m.snapshot = { data: bytes(), metadata: { index: num(), term: num(), confState: cs } };
  }
  return m;
}

test('property: 2000 random messages decode to exactly what was encoded', () => {
  const r = seededRandom(20261123);
  for (let i = 0; i < 2000; i++) {
    const m = randomMessage(r);
    assert.deepEqual(decodeMessage(encodeMessage(m)), m, `message #${i}`);
  }
});

// Encodes raw protobuf fields by hand, so that values the typed encoders would never produce can be fed in.
function raw(build: (w: protobuf.Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  build(w);
  return w.finish();
}

test('an unknown message type is refused', () => {
  const b = raw((w) => w.uint32((1 << 3) | 0).uint32(6)); // type = 6 (unused number)
  assert.throws(() => decodeMessage(b), (e: unknown) => e instanceof CodecError && /unknown type 6/.test(e.message));
});

test('an unknown entry type is refused', () => {
  const b = raw((w) => w.uint32((3 << 3) | 0).uint32(2));
  assert.throws(() => decodeEntry(b), CodecError);
});

test('a uint64 above 2^53-1 is refused, not rounded', () => {
  const b = raw((w) => w.uint32((2 << 3) | 0).uint64('9007199254740992')); // index = 2^53
  assert.throws(() => decodeEntry(b), (e: unknown) => e instanceof CodecError && /index out of range/.test(e.message));
  const ok = raw((w) => w.uint32((2 << 3) | 0).uint64('9007199254740991'));
  assert.equal(decodeEntry(ok).index, MAX);
});

test('garbage bytes are a CodecError, not a crash', () => {
  assert.throws(() => decodeMessage(new Uint8Array([0x0a, 0xff, 0xff, 0xff])), CodecError);
});

test('a snapshot without metadata is refused', () => {
  assert.throws(() => decodeSnapshot(raw((w) => w.uint32((1 << 3) | 2).bytes(new Uint8Array([1])))), /metadata missing/);
});

test('the hand-written entry encoder gives exactly the bytes of protobufjs for the same schema', () => {
  const E = protobuf.loadSync(join(findProtoDir(), 'raft.proto')).lookupType('shoal.raft.Entry');
  const r = seededRandom(7);
  const num = (): number => [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 + 5, MAX][r(9)]! + (r(2) === 0 ? 0 : -0);
  for (let i = 0; i < 500; i++) {
    const e: Entry = { term: num(), index: num(), type: r(2) as 0 | 1, data: Uint8Array.from({ length: r(3) === 0 ? 0 : r(300) }, () => r(256)) };
    assert.deepEqual(Buffer.from(encodeEntry(e)), Buffer.from(E.encode(e).finish()), `entry #${i}`);
    assert.deepEqual(decodeEntry(encodeEntry(e)), e);
    assert.deepEqual(decodeEntry(E.encode(e).finish()), e);
    assert.deepEqual(decodeEntry(E.encode(e).finish()), e);
  }
});

test('encoding an entry whose index is negative, fractional or above 2^53-1 is refused', () => {
  for (const index of [-1, 1.5, 2 ** 53]) {
    assert.throws(() => encodeEntry({ term: 1, index, type: 0, data: new Uint8Array(0) }), CodecError);
  }
});

test('the hand-written entry decoder skips unknown fields and refuses malformed ones', () => {
  const withUnknown = raw((w) => {
    w.uint32((2 << 3) | 0).uint64(42); // index
    w.uint32((9 << 3) | 2).bytes(new Uint8Array([1, 2, 3])); // unknown length-delimited
    w.uint32((10 << 3) | 0).uint64(7); // unknown varint
    w.uint32((11 << 3) | 1).fixed64(1); // unknown 64-bit
    w.uint32((12 << 3) | 5).fixed32(1); // unknown 32-bit
    w.uint32((4 << 3) | 2).bytes(new Uint8Array([9]));
  });
  assert.deepEqual(decodeEntry(withUnknown), { term: 0, index: 42, type: 0, data: new Uint8Array([9]) });
  assert.throws(() => decodeEntry(raw((w) => w.uint32((2 << 3) | 2).bytes(new Uint8Array([1])))), /wire type/);
  assert.throws(() => decodeEntry(raw((w) => w.uint32((4 << 3) | 2).uint32(10))), /past the end/);
  assert.throws(() => decodeEntry(new Uint8Array([0x10, 0x80])), /truncated varint/);
  assert.throws(() => decodeEntry(new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /out of range/);
});

test('fuzz: mutated entry bytes decode to a valid entry or a CodecError, nothing else', () => {
  const r = seededRandom(99);
  for (let i = 0; i < 3000; i++) {
    const b = encodeEntry({ term: r(1000), index: r(2 ** 30), type: r(2) as 0 | 1, data: Uint8Array.from({ length: r(40) }, () => r(256)) });
    for (let k = 0; k < 1 + r(3); k++) if (b.length > 0) b[r(b.length)] = r(256);
    try {
      const e = decodeEntry(r(4) === 0 ? b.subarray(0, r(b.length + 1)) : b);
      assert.ok(Number.isSafeInteger(e.term) && e.term >= 0 && Number.isSafeInteger(e.index) && e.index >= 0);
      assert.ok(e.type === 0 || e.type === 1);
      assert.ok(e.data instanceof Uint8Array);
    } catch (err) {
      assert.ok(err instanceof CodecError, `#${i}: ${String(err)}`);
    }
  }
});

test('the hand-written message encoder gives exactly the bytes of protobufjs, and both decode alike', () => {
  const M = protobuf.loadSync(join(findProtoDir(), 'raft.proto')).lookupType('shoal.raft.Message');
  const r = seededRandom(11);
  for (let i = 0; i < 1000; i++) {
    const m = randomMessage(r);
    delete m.snapshot;
    const ours = encodeMessage(m);
    assert.deepEqual(Buffer.from(ours), Buffer.from(M.encode(m).finish()), `message #${i}`);
    assert.deepEqual(decodeMessage(ours), m);
  }
});

test('the hand-written message decoder skips unknown fields, hands snapshots to protobufjs, refuses malformed bytes', () => {
  const withUnknown = raw((w) => {
    w.uint32((1 << 3) | 0).uint32(MessageType.AppResp);
    w.uint32((13 << 3) | 2).bytes(new Uint8Array([1, 2, 3])); // unknown field 13
    w.uint32((6 << 3) | 0).uint64(42);
    w.uint32((14 << 3) | 5).fixed32(7);
  });
  const m = decodeMessage(withUnknown);
  assert.equal(m.type, MessageType.AppResp);
  assert.equal(m.index, 42);
  const snap: Message = {
    type: MessageType.Snap, to: 2, from: 1, term: 3, logTerm: 0, index: 0, entries: [], commit: 9, reject: false, rejectHint: 0,
    context: new Uint8Array(0), snapshot: { data: new Uint8Array([1, 2]), metadata: { index: 9, term: 3, confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
  };
  assert.deepEqual(decodeMessage(encodeMessage(snap)), snap);
  assert.throws(() => decodeMessage(raw((w) => w.uint32((4 << 3) | 2).bytes(new Uint8Array([1])))), /wire type/);
  assert.throws(() => decodeMessage(raw((w) => w.uint32((7 << 3) | 2).uint32(50))), /past the end/);
  assert.throws(() => encodeMessage({ ...snap, snapshot: undefined, term: -1 } as unknown as Message), CodecError);
});

test('fuzz: mutated message bytes decode to a valid message or a CodecError, nothing else', () => {
  const r = seededRandom(5);
  for (let i = 0; i < 3000; i++) {
    const m = randomMessage(r);
    delete m.snapshot;
    const b = encodeMessage(m);
    for (let k = 0; k < 1 + r(3); k++) if (b.length > 0) b[r(b.length)] = r(256);
    try {
      const d = decodeMessage(r(4) === 0 ? b.subarray(0, r(b.length + 1)) : b);
      assert.ok(Object.values(MessageType).includes(d.type));
      for (const f of [d.to, d.from, d.term, d.logTerm, d.index, d.commit, d.rejectHint]) assert.ok(Number.isSafeInteger(f) && f >= 0);
      assert.ok(d.entries.every((e) => e.data instanceof Uint8Array));
    } catch (err) {
      assert.ok(err instanceof CodecError, `#${i}: ${String(err)}`);
    }
  }
});

test('a snapshot file encoded in parts (data uncopied) is byte-for-byte the protobufjs encoding, CRC included', async () => {
  const { encodeSnapshotFileParts, encodeSnapshotFile, decodeSnapshotFile } = await import('../../../manager/raft/codec.js');
  const { crc32 } = await import('node:zlib');
  const r = seededRandom(3);
  const sizes = [0, 1, 127, 128, 300, 16384, 3 << 20];
  for (let i = 0; i < 40; i++) {
    const size = sizes[i % sizes.length]!;
    const data = Buffer.allocUnsafe(size);
    for (let k = 0; k < Math.min(size, 4096); k++) data[k] = r(256);
    const s: Snapshot = { data: new Uint8Array(data), metadata: { index: r(1e9), term: r(1000), confState: { voters: [1, 2, 3].slice(0, r(4)), learners: r(2) ? [4] : [], votersOutgoing: [], learnersNext: [], autoLeave: false } } };
    const enc = encodeSnapshot(s);
    const want = Buffer.from(encodeSnapshotFile({ crc: crc32(enc), data: enc }));
    const { parts, crc } = encodeSnapshotFileParts(s);
    assert.equal(crc, crc32(enc) >>> 0);
    assert.ok(Buffer.compare(Buffer.concat(parts), want) === 0, `snapshot #${i} (${size} bytes)`);
    assert.ok(parts.includes(s.data) || size === 0, 'the data itself is one of the parts, not a copy');
    assert.deepEqual(decodeSnapshot(decodeSnapshotFile(Buffer.concat(parts)).data), s);
  }
});

test('the snapshot file parts computed a slice per loop turn equal the one-pass encoding', async () => {
  const { encodeSnapshotFileParts, encodeSnapshotFilePartsAsync } = await import('../../../manager/raft/codec.js');
  for (const size of [0, 1, 1000, 3 << 20]) {
    const data = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
    const s: Snapshot = { data, metadata: { index: 9, term: 2, confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } };
    const a = encodeSnapshotFileParts(s);
    const b = await encodeSnapshotFilePartsAsync(s, 4096 + 3);
    assert.equal(b.crc, a.crc);
    assert.ok(Buffer.compare(Buffer.concat(b.parts), Buffer.concat(a.parts)) === 0, `${size} bytes`);
  }
});
