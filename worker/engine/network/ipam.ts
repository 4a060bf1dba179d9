/**
 * Address management for one engine: the pools user-defined networks take their subnets from, and per
 * network the addresses handed to endpoints. Pure logic; the manager persists `toJSON()`.
 *
 * Addresses are handed out round-robin from a cursor (like Docker's serial allocation), so a released
 * address is not reused at once; an address held by an endpoint is never handed out again before release.
 */
import { conflict, NetworkError } from './errors.js';
import { type Cidr, contains, formatCidr, formatIPv4, overlaps, size } from './ipv4.js';

export interface AddressPool {
  /** e.g. "172.31.0.0/16" */
  base: Cidr;
  /** prefix length of the subnets cut out of it, e.g. 24 */
  size: number;
}

/** The first subnet of `pools` that overlaps none of `used`. */
export function pickSubnet(pools: readonly AddressPool[], used: readonly Cidr[]): Cidr {
  for (const pool of pools) {
    const step = 2 ** (32 - pool.size);
    for (let b = pool.base.base; b < pool.base.base + size(pool.base); b += step) {
      const cand: Cidr = { base: b, prefixLen: pool.size };
      if (!used.some((u) => overlaps(u, cand))) return cand;
    }
  }
  throw new NetworkError(403, 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

export interface SubnetAllocatorState {
  subnet: string;
  gateway: string;
  ipRange?: string;
  allocated: string[];
  cursor: number;
}

/** Addresses of one network's subnet. The network and broadcast addresses and the gateway are never given out. */
export class SubnetAllocator {
  readonly subnet: Cidr;
  readonly gateway: number;
  readonly range: Cidr;
  private readonly allocated = new Set<number>();
  private cursor: number;

  constructor(subnet: Cidr, gateway: number, range?: Cidr) {
    this.subnet = subnet;
    this.gateway = gateway;
    this.range = range ?? subnet;
    if (!contains(subnet, gateway)) throw new NetworkError(400, `gateway ${formatIPv4(gateway)} is not in subnet ${formatCidr(subnet)}`);
    if (range && !(contains(subnet, range.base) && contains(subnet, range.base + size(range) - 1)))
      throw new NetworkError(400, `ip-range ${formatCidr(range)} is not inside subnet ${formatCidr(subnet)}`);
    if (subnet.prefixLen > 30) throw new NetworkError(400, `subnet ${formatCidr(subnet)} is too small (at most /30)`);
    this.cursor = this.range.base;
  }

  private usable(a: number): boolean {
    return a !== this.gateway && a !== this.subnet.base && a !== this.subnet.base + size(this.subnet) - 1 && contains(this.range, a);
  }

  /** Hands out `preferred` if given (409 if taken or unusable), else the next free address after the cursor. */
  allocate(preferred?: number): number {
    if (preferred !== undefined) {
      if (!contains(this.subnet, preferred)) throw new NetworkError(400, `address ${formatIPv4(preferred)} is not in subnet ${formatCidr(this.subnet)}`);
      if (this.allocated.has(preferred) || preferred === this.gateway) throw conflict(`address ${formatIPv4(preferred)} is already in use`);
      this.allocated.add(preferred);
      return preferred;
    }
    const n = size(this.range);
    for (let i = 0; i < n; i++) {
      const a = this.range.base + ((this.cursor - this.range.base + i) % n);
      if (this.usable(a) && !this.allocated.has(a)) {
        this.allocated.add(a);
        this.cursor = a + 1 >= this.range.base + n ? this.range.base : a + 1;
        return a;
      }
    }
    throw new NetworkError(409, `no available IPv4 addresses in ${formatCidr(this.range)}`);
  }

  release(addr: number): void {
    this.allocated.delete(addr);
  }

  isAllocated(addr: number): boolean {
    return this.allocated.has(addr);
  }

  get inUse(): number {
    return this.allocated.size;
  }

  toJSON(): SubnetAllocatorState {
    const s: SubnetAllocatorState = {
      subnet: formatCidr(this.subnet),
      gateway: formatIPv4(this.gateway),
      allocated: [...this.allocated].sort((a, b) => a - b).map(formatIPv4),
      cursor: this.cursor,
    };
    if (this.range !== this.subnet) s.ipRange = formatCidr(this.range);
    return s;
  }

  /** Marks an address as held (used when restoring persisted endpoints). */
  restore(addr: number): void {
    this.allocated.add(addr);
  }

  setCursor(c: number): void {
    if (contains(this.range, c)) this.cursor = c;
  }
}
