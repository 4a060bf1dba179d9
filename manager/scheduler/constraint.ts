/**
 * Placement constraints as Docker writes them: `<key>==<value>` or `<key>!=<value>` where key is
 * node.id, node.hostname, node.ip (an address or CIDR), node.role, node.platform.os,
 * node.platform.arch, node.labels.<name> or engine.labels.<name>. Values compare case-insensitively,
 * as SwarmKit does; a missing label compares as the empty string (so `!=` holds and `==` fails).
 */
import type { SchedNode } from './types.js';

export interface Constraint {
  key: string;
  op: '==' | '!=';
  value: string;
}

export class ConstraintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConstraintError';
  }
}

const KEY_RE = /^(node\.(id|hostname|ip|role|platform\.os|platform\.arch)|(node|engine)\.labels\.[^\s=!]+)$/;

export function parseConstraint(expr: string): Constraint {
  const m = /^\s*([^=!\s]+)\s*(==|!=)\s*(.*?)\s*$/.exec(expr);
  if (!m) throw new ConstraintError(`invalid constraint ${JSON.stringify(expr)}: expected <key>==<value> or <key>!=<value>`);
  const key = m[1]!;
  if (!KEY_RE.test(key)) {
    throw new ConstraintError(
      `invalid constraint ${JSON.stringify(expr)}: unknown key ${JSON.stringify(key)} (node.id, node.hostname, node.ip, node.role, node.platform.os, node.platform.arch, node.labels.<name>, engine.labels.<name>)`,
    );
  }
  const value = m[3]!;
  if (value === '') throw new ConstraintError(`invalid constraint ${JSON.stringify(expr)}: empty value`);
  if (key === 'node.role' && !/^(manager|worker)$/i.test(value)) {
    throw new ConstraintError(`invalid constraint ${JSON.stringify(expr)}: node.role is manager or worker`);
  }
  if (key === 'node.ip' && parseCidr(value) === undefined) {
    throw new ConstraintError(`invalid constraint ${JSON.stringify(expr)}: node.ip wants an IPv4 address or CIDR`);
  }
  return { key, op: m[2] as '==' | '!=', value };
}

export function parseConstraints(exprs: readonly string[]): Constraint[] {
  return exprs.map(parseConstraint);
}

function ipv4(s: string): number | undefined {
  const p = s.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = n * 256 + Number(x);
  }
  return n;
}

function parseCidr(s: string): { base: number; bits: number } | undefined {
  const [addr, len] = s.split('/');
  const base = ipv4(addr ?? '');
  const bits = len === undefined ? 32 : Number(len);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  return { base, bits };
}

function inCidr(addr: string, cidr: string): boolean {
  const a = ipv4(addr);
  const c = parseCidr(cidr);
  if (a === undefined || c === undefined) return false;
  const shift = 32 - c.bits;
  return shift === 32 || Math.floor(a / 2 ** shift) === Math.floor(c.base / 2 ** shift);
}

const ARCH_ALIASES: Record<string, string> = { amd64: 'x86_64', x86_64: 'x86_64', arm64: 'aarch64', aarch64: 'aarch64' };
export const normalizeArch = (a: string): string => ARCH_ALIASES[a.toLowerCase()] ?? a.toLowerCase();

function nodeValue(node: SchedNode, key: string): string {
  switch (key) {
    case 'node.id':
      return node.id;
    case 'node.hostname':
      return node.hostname;
    case 'node.role':
      return node.role;
    case 'node.platform.os':
      return node.platform.os;
    case 'node.platform.arch':
      return node.platform.architecture;
    default:
      if (key.startsWith('node.labels.')) return node.labels[key.slice('node.labels.'.length)] ?? '';
      return node.engineLabels[key.slice('engine.labels.'.length)] ?? '';
  }
}

function matchOne(node: SchedNode, c: Constraint): boolean {
  let eq: boolean;
  if (c.key === 'node.ip') eq = inCidr(node.addr, c.value);
  else if (c.key === 'node.id') eq = node.id.toLowerCase() === c.value.toLowerCase() || (c.value.length >= 12 && node.id.toLowerCase().startsWith(c.value.toLowerCase()));
  else if (c.key === 'node.platform.arch') eq = normalizeArch(nodeValue(node, c.key)) === normalizeArch(c.value);
  else eq = nodeValue(node, c.key).toLowerCase() === c.value.toLowerCase();
  return c.op === '==' ? eq : !eq;
}

export function nodeMatches(node: SchedNode, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => matchOne(node, c));
}

/** The value a spread preference sees on a node ("" when the label is missing). */
export function spreadValue(node: SchedNode, descriptor: string): string {
  if (descriptor.startsWith('node.labels.')) return node.labels[descriptor.slice('node.labels.'.length)] ?? '';
  if (descriptor.startsWith('engine.labels.')) return node.engineLabels[descriptor.slice('engine.labels.'.length)] ?? '';
  return '';
}
