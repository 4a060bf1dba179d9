// The WAL's record frame, after etcd's: an 8-byte little-endian length field (low 56 bits: length of
// the record body; top byte 0x80|pad when the frame is padded to 8-byte alignment), then the body
// [crc: u32 LE][type: u8][data], then zero padding. Because frames are 8-byte aligned, a length
// field never straddles a 512-byte sector and is never torn.
//
// The CRC is CRC-32 (zlib) rolling over the type byte and data of every previous record, so a record
// is only valid in its place in the log. A Crc record carries the running CRC itself (its data is
// empty) and starts every segment, so each segment can be checked alone once older ones are released.
import { crc32 } from 'node:zlib';

export const RecordType = {
  Metadata: 1,
  Entry: 2,
  State: 3,
  Crc: 4,
  Snapshot: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const FRAME_HEADER_BYTES = 8;
export const BODY_HEADER_BYTES = 5;
export const SECTOR_BYTES = 512;

/** Rolls `crc` over a record body's type byte and data, which lie contiguously after its CRC field. */
export function rollCrcOfBody(crc: number, typeAndData: Uint8Array): number {
  return crc32(typeAndData, crc);
}

export function paddedBodyBytes(dataLen: number): { body: number; pad: number } {
  const body = BODY_HEADER_BYTES + dataLen;
  return { body, pad: (8 - (body % 8)) % 8 };
}

/** A growable byte buffer that frames records into one contiguous write. */
export class FrameBuffer {
  private buf: Buffer;
  length = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.alloc(initial);
  }

  reset(): void {
    this.length = 0;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** Appends one framed record whose stored CRC is `crc` (a Crc record: the running value itself). */
  push(type: RecordType, crc: number, data: Uint8Array): void {
    const at = this.frame(type, data.length);
    this.buf.set(data, at + BODY_HEADER_BYTES);
    this.buf.writeUInt32LE(crc >>> 0, at);
  }

  /** Appends one framed record whose CRC rolls `prev` over its type and data; returns the new CRC. */
  pushRolling(type: RecordType, prev: number, data: Uint8Array): number {
    const at = this.frame(type, data.length);
    this.buf.set(data, at + BODY_HEADER_BYTES);
    return this.sealRolling(at, data.length, prev);
  }

  /**
   * As pushRolling, but `write` encodes the `dataLen` bytes of data straight into the buffer at the
   * offset it is given (no intermediate array per record).
   */
  pushRollingWith(type: RecordType, prev: number, dataLen: number, write: (buf: Uint8Array, off: number) => void): number {
    const at = this.frame(type, dataLen);
    write(this.buf, at + BODY_HEADER_BYTES);
    return this.sealRolling(at, dataLen, prev);
  }

  private sealRolling(at: number, dataLen: number, prev: number): number {
    const crc = crc32(this.buf.subarray(at + 4, at + BODY_HEADER_BYTES + dataLen), prev);
    this.buf.writeUInt32LE(crc, at);
    return crc;
  }

  /** Frames a record of `dataLen` bytes (length field, type, zero padding); returns the body's offset. */
  private frame(type: RecordType, dataLen: number): number {
    const { body, pad } = paddedBodyBytes(dataLen);
    this.reserve(FRAME_HEADER_BYTES + body + pad);
    const b = this.buf;
    const o = this.length;
    b.writeUInt32LE(body, o);
    b.writeUInt16LE(Math.floor(body / 0x100000000) & 0xffff, o + 4);
    b[o + 6] = 0;
    b[o + 7] = pad > 0 ? 0x80 | pad : 0;
    const at = o + FRAME_HEADER_BYTES;
    b[at + 4] = type;
    b.fill(0, at + body, at + body + pad);
    this.length = at + body + pad;
    return at;
  }
}

export type FrameRead =
  | { kind: 'record'; type: number; crc: number; data: Uint8Array; typeAndData: Uint8Array; next: number }
  | { kind: 'end' } // a zero length field: the rest of the segment is unused
  | { kind: 'short' } // the frame runs past the end of the file
  | { kind: 'bad-frame'; reason: string };

/** Reads the frame at `off` in `buf` (no CRC check: the caller owns the running CRC). */
export function readFrame(buf: Uint8Array, off: number): FrameRead {
  if (off === buf.length) return { kind: 'end' };
  if (off + FRAME_HEADER_BYTES > buf.length) return { kind: 'short' };
  const v = new DataView(buf.buffer, buf.byteOffset + off, FRAME_HEADER_BYTES);
  const lo = v.getUint32(0, true);
  const hi = v.getUint16(4, true) + v.getUint8(6) * 0x10000;
  const top = v.getUint8(7);
  if (lo === 0 && hi === 0 && top === 0) return { kind: 'end' };
  const body = hi * 0x100000000 + lo;
  const expectPad = (8 - (body % 8)) % 8;
  const pad = top & 0x80 ? top & 0x7f : top === 0 ? 0 : -1;
  if (body > buf.length) return { kind: 'short' };
  if (pad !== expectPad || body < BODY_HEADER_BYTES) {
    return { kind: 'bad-frame', reason: `invalid length field (body ${body}, top byte 0x${top.toString(16)})` };
  }
  const start = off + FRAME_HEADER_BYTES;
  const next = start + body + pad;
  if (next > buf.length) return { kind: 'short' };
  const crc = new DataView(buf.buffer, buf.byteOffset + start, 4).getUint32(0, true);
  const type = buf[start + 4]!;
  return {
    kind: 'record', type, crc, next,
    data: buf.subarray(start + BODY_HEADER_BYTES, start + body),
    typeAndData: buf.subarray(start + 4, start + body),
  };
}

/**
 * etcd's torn-write test: split the frame's body+padding on sector boundaries (absolute file offsets);
 * if any chunk is all zeros, the sector was never written, so the record is a torn write.
 */
export function isTorn(buf: Uint8Array, frameOff: number, next: number): boolean {
  let off = frameOff + FRAME_HEADER_BYTES;
  while (off < next) {
    const end = Math.min(next, (Math.floor(off / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    let zero = true;
    for (let i = off; i < end; i++) {
      if (buf[i] !== 0) { zero = false; break; }
    }
    if (zero) return true;
    off = end;
  }
  return false;
}
