/**
 * Docker's stdcopy framing for non-TTY streams: an 8-byte header (stream id, three zero bytes, a
 * big-endian uint32 length) before each payload. 0 = stdin, 1 = stdout, 2 = stderr (3 = system error).
 */

export type StdStream = 'stdin' | 'stdout' | 'stderr' | 'system';

const IDS: Record<StdStream, number> = { stdin: 0, stdout: 1, stderr: 2, system: 3 };
const NAMES: StdStream[] = ['stdin', 'stdout', 'stderr', 'system'];
const MAX_FRAME = 0xffffffff;

/** One framed chunk (empty payloads give no frame). Payloads above 4 GiB are split. */
export function encodeFrame(stream: StdStream, data: Buffer): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_FRAME) {
    const chunk = data.subarray(off, Math.min(data.length, off + MAX_FRAME));
    const h = Buffer.alloc(8);
    h[0] = IDS[stream];
    h.writeUInt32BE(chunk.length, 4);
    parts.push(h, chunk);
  }
  return Buffer.concat(parts);
}

export interface Frame {
  stream: StdStream;
  data: Buffer;
}

export class StdcopyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StdcopyFormatError';
  }
}

/** Incremental decoder: push bytes in any slicing, get whole frames out. */
export class StdcopyDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    while (this.buf.length >= 8) {
      const id = this.buf[0]!;
      if (id > 3 || this.buf[1] !== 0 || this.buf[2] !== 0 || this.buf[3] !== 0) {
        throw new StdcopyFormatError(`bad stdcopy header: stream byte ${id}, padding ${this.buf.subarray(1, 4).toString('hex')}`);
      }
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      out.push({ stream: NAMES[id]!, data: Buffer.from(this.buf.subarray(8, 8 + len)) });
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }

  /** Bytes still waiting for the rest of their frame. */
  pending(): number {
    return this.buf.length;
  }
}
