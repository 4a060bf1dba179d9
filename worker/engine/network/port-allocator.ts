/**
 * Host ports published by this engine: who holds which (hostIp, proto, hostPort), exact ports, ranges
 * ("8000-8010" = the first free one in it) and ephemeral ports ("" or "0" = one we choose). Pure logic;
 * whether a port is free on the host is asked through `isHostPortFree`.
 */
import { badRequest, conflict } from './errors.js';
import { parseIPv4 } from './ipv4.js';

export type PortProto = 'tcp' | 'udp' | 'sctp';

export interface PortBindingRequest {
  containerPort: number;
  proto: PortProto;
  /** "" or undefined = all addresses (0.0.0.0) */
  hostIp?: string;
  /** "", "0" or undefined = ephemeral; "8080"; "8000-8010" = first free in the range */
  hostPort?: string;
}

export interface PublishedPort {
  containerPort: number;
  proto: PortProto;
  hostIp: string;
  hostPort: number;
}

export const EPHEMERAL_RANGE = { first: 32768, last: 60999 } as const;

function overlapIp(a: string, b: string): boolean {
  return a === '0.0.0.0' || b === '0.0.0.0' || a === b;
}

function parseHostPort(text: string | undefined): { first: number; last: number; ephemeral: boolean } {
  const t = (text ?? '').trim();
  if (t === '' || t === '0') return { ...EPHEMERAL_RANGE, ephemeral: true };
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(t);
  if (!m) throw badRequest(`invalid host port ${JSON.stringify(text)}`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535 || last < first) throw badRequest(`invalid host port range ${JSON.stringify(text)}`);
  return { first, last, ephemeral: false };
}

export class PortAllocator {
  private readonly held = new Map<string, PublishedPort[]>();
  private cursor: number = EPHEMERAL_RANGE.first;

  private inUse(hostIp: string, proto: PortProto, port: number, extra: readonly PublishedPort[]): boolean {
    const clash = (p: PublishedPort): boolean => p.proto === proto && p.hostPort === port && overlapIp(p.hostIp, hostIp);
    if (extra.some(clash)) return true;
    for (const list of this.held.values()) if (list.some(clash)) return true;
    return false;
  }

  /**
   * Reserves every request for `owner` or none (409 naming the port when an exact port is taken).
   * `isHostPortFree` is consulted for ranges and ephemeral ports only.
   */
  reserve(owner: string, reqs: readonly PortBindingRequest[], isHostPortFree: (proto: PortProto, port: number) => boolean = () => true): PublishedPort[] {
    const out: PublishedPort[] = [];
    for (const r of reqs) {
      if (!Number.isInteger(r.containerPort) || r.containerPort < 1 || r.containerPort > 65535)
        throw badRequest(`invalid container port ${String(r.containerPort)}`);
      if (r.proto !== 'tcp' && r.proto !== 'udp' && r.proto !== 'sctp') throw badRequest(`invalid protocol ${JSON.stringify(r.proto)}`);
      const hostIp = r.hostIp && r.hostIp !== '' ? r.hostIp : '0.0.0.0';
      if (parseIPv4(hostIp) === undefined)
        throw badRequest(`invalid host address ${JSON.stringify(hostIp)} for port ${r.containerPort}/${r.proto}: only IPv4 addresses can be published`);
      const range = parseHostPort(r.hostPort);
      let chosen: number | undefined;
      if (range.first === range.last) {
        if (this.inUse(hostIp, r.proto, range.first, out))
          throw conflict(`Bind for ${hostIp}:${range.first} failed: port is already allocated`);
        chosen = range.first;
      } else {
        const n = range.last - range.first + 1;
        const start = range.ephemeral ? this.cursor : range.first;
        for (let i = 0; i < n; i++) {
          const p = range.first + ((start - range.first + i) % n);
          if (!this.inUse(hostIp, r.proto, p, out) && isHostPortFree(r.proto, p)) {
            chosen = p;
            break;
          }
        }
        if (chosen === undefined)
          throw conflict(`Bind for ${hostIp}:${r.hostPort ?? ''} failed: no free port in ${range.first}-${range.last}`);
        if (range.ephemeral) this.cursor = chosen >= EPHEMERAL_RANGE.last ? EPHEMERAL_RANGE.first : chosen + 1;
      }
      out.push({ containerPort: r.containerPort, proto: r.proto, hostIp, hostPort: chosen });
    }
    if (out.length > 0) this.held.set(owner, [...(this.held.get(owner) ?? []), ...out]);
    return out;
  }

  /** Marks ports as held (restore from disk). */
  restore(owner: string, ports: readonly PublishedPort[]): void {
    if (ports.length > 0) this.held.set(owner, [...(this.held.get(owner) ?? []), ...ports]);
  }

  release(owner: string): void {
    this.held.delete(owner);
  }

  all(): { owner: string; port: PublishedPort }[] {
    const out: { owner: string; port: PublishedPort }[] = [];
    for (const [owner, list] of this.held) for (const port of list) out.push({ owner, port });
    return out;
  }
}

/**
 * Docker's HostConfig.PortBindings (`{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`, container-port
 * ranges like "80-81/tcp" allowed) as binding requests. Throws 400 on a malformed value.
 */
export function portBindingsFromDocker(value: unknown): PortBindingRequest[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('PortBindings must be an object');
  const out: PortBindingRequest[] = [];
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(key);
    if (!m) throw badRequest(`invalid port specification ${JSON.stringify(key)}`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const proto = (m[3]?.toLowerCase() ?? 'tcp') as PortProto;
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list)) throw badRequest(`PortBindings[${key}] must be an array`);
    for (const b of list) {
      const hostIp = typeof b === 'object' && b !== null && typeof (b as { HostIp?: unknown }).HostIp === 'string' ? (b as { HostIp: string }).HostIp : '';
      const rawPort = typeof b === 'object' && b !== null ? (b as { HostPort?: unknown }).HostPort : undefined;
      const hostPort = typeof rawPort === 'string' ? rawPort : typeof rawPort === 'number' ? String(rawPort) : '';
      const hp = parseHostPort(hostPort);
      for (let c = first; c <= last; c++) {
        // "8000-8001:80-81" pairs ports one to one; a single host port range with one container port is a pool.
        const pairRange = last > first && !hp.ephemeral && hp.last - hp.first === last - first;
        const hostPortFor = pairRange ? String(hp.first + (c - first)) : hostPort;
        out.push({ containerPort: c, proto, hostIp, hostPort: hostPortFor });
      }
    }
  }
  return out;
}
