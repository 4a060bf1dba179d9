/** IPv4 addresses and CIDR blocks as plain numbers: parsing, formatting, containment, overlap. */
import { badRequest } from './errors.js';

export interface Cidr {
  /** Network address (host bits cleared), as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefixLen: number;
}

export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function mustParseIPv4(text: string, what = 'address'): number {
  const n = parseIPv4(text);
  if (n === undefined) throw badRequest(`invalid IPv4 ${what}: ${JSON.stringify(text)}`);
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefixLen);
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const addr = parseIPv4(m[1]!);
  const prefixLen = Number(m[2]);
  if (addr === undefined || prefixLen > 32) return undefined;
  const sz = 2 ** (32 - prefixLen);
  return { base: addr - (addr % sz), prefixLen };
}

export function mustParseCidr(text: string, what = 'subnet'): Cidr {
  const c = parseCidr(text);
  if (!c) throw badRequest(`invalid ${what}: ${JSON.stringify(text)} (expected a.b.c.d/len)`);
  return c;
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefixLen}`;
}

export function contains(c: Cidr, addr: number): boolean {
  return addr >= c.base && addr < c.base + size(c);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** Docker-style MAC for an address: 02:42 followed by the four address bytes. */
export function macForIPv4(n: number): string {
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
