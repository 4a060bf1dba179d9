/**
 * A small DNS wire codec (RFC 1035): enough to read queries, answer A/AAAA with addresses, NOERROR-empty,
 * NXDOMAIN or SERVFAIL, and to read answers back in tests. Names are compared lower-case without the
 * trailing dot. No truncation handling: the embedded DNS only answers short A lists.
 */
export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** For A records the dotted address, for AAAA the raw hex, else the rdata bytes as hex. */
  data: string;
}

export interface DnsMessage {
  id: number;
  /** QR bit: false for a query, true for a response */
  response: boolean;
  opcode: number;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  authoritative: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
}

export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the end of the message');
    const len = buf[pos]!;
    if (len === 0) {
      pos += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      if (++jumps > 32) throw new DnsFormatError('compression pointer loop');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError('unsupported label type');
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the end of the message');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), next: next < 0 ? pos : next };
}

function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  const parts: Buffer[] = [];
  if (trimmed.length > 0) {
    for (const label of trimmed.split('.')) {
      const b = Buffer.from(label, 'latin1');
      if (b.length === 0 || b.length > 63) throw new DnsFormatError(`invalid label in ${JSON.stringify(name)}`);
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function decodeMessage(buf: Buffer): DnsMessage {
  if (buf.length < 12) throw new DnsFormatError('message shorter than the 12-byte header');
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let pos = 12;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw new DnsFormatError('truncated question');
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const answers: DnsRecord[] = [];
  for (let i = 0; i < an; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 10 > buf.length) throw new DnsFormatError('truncated resource record');
    const type = buf.readUInt16BE(next);
    const rdlen = buf.readUInt16BE(next + 8);
    const rdStart = next + 10;
    if (rdStart + rdlen > buf.length) throw new DnsFormatError('truncated rdata');
    const rd = buf.subarray(rdStart, rdStart + rdlen);
    const data = type === QTYPE.A && rdlen === 4 ? [...rd].join('.') : rd.toString('hex');
    answers.push({ name, type, class: buf.readUInt16BE(next + 2), ttl: buf.readUInt32BE(next + 4), data });
    pos = rdStart + rdlen;
  }
  return {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions,
    answers,
  };
}

/** A query for one name (used by tests and health probes). */
export function encodeQuery(id: number, name: string, type: number = QTYPE.A): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), q]);
}

/**
 * A response to `query` (its id, opcode, RD bit and question echoed) with the given rcode and, for A
 * questions, one A record per address. Addresses are dotted IPv4 strings.
 */
export function encodeResponse(query: DnsMessage, rcode: number, addresses: readonly string[] = [], ttl = 600): Buffer {
  const q = query.questions[0];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  let flags = 0x8000 | ((query.opcode & 0xf) << 11) | 0x0080 | (rcode & 0xf);
  if (query.recursionDesired) flags |= 0x0100;
  if (rcode === RCODE.NOERROR && addresses.length > 0) flags |= 0x0400;
  header.writeUInt16BE(flags, 2);
  const parts: Buffer[] = [header];
  if (q) {
    header.writeUInt16BE(1, 4);
    const qt = Buffer.alloc(4);
    qt.writeUInt16BE(q.type, 0);
    qt.writeUInt16BE(q.class, 2);
    parts.push(encodeName(q.name), qt);
    const answers = q.type === QTYPE.A && rcode === RCODE.NOERROR ? addresses : [];
    header.writeUInt16BE(answers.length, 6);
    for (const a of answers) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question name at offset 12
      rr.writeUInt16BE(QTYPE.A, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(ttl, 6);
      rr.writeUInt16BE(4, 10);
      const octets = a.split('.').map(Number);
      for (let i = 0; i < 4; i++) rr[12 + i] = octets[i] ?? 0;
      parts.push(rr);
    }
  }
  return Buffer.concat(parts);
}

/** A minimal error response for a message too broken to decode fully (only the id is known). */
export function encodeFormErr(raw: Buffer): Buffer | undefined {
  if (raw.length < 2) return undefined;
  const b = Buffer.alloc(12);
  raw.copy(b, 0, 0, 2);
  b.writeUInt16BE(0x8000 | RCODE.FORMERR, 2);
  return b;
}
