/**
 * Cluster-wide network resources: a subnet and a VXLAN ID per overlay network (from the default pool
 * 10.0.0.0/8 in /24s unless the spec names a subnet), one VIP per service per network, one address per
 * task per network. Nothing is handed out twice; everything is given back on release. Pure; the leader
 * rebuilds it from the store with the `restore*` methods when it takes office.
 */
import { NetworkError } from '../../worker/engine/network/errors.js';
import { pickSubnet, SubnetAllocator, type AddressPool } from '../../worker/engine/network/ipam.js';
import { formatCidr, formatIPv4, mustParseCidr, mustParseIPv4, overlaps, parseIPv4, type Cidr } from '../../worker/engine/network/ipv4.js';

export const DEFAULT_OVERLAY_POOLS: AddressPool[] = [{ base: { base: 10 << 24, prefixLen: 8 }, size: 24 }];
/** SwarmKit's VXLAN ID range. */
export const VNI_START = 4096;
export const VNI_END = 2 ** 24 - 1;

export interface NetworkRequest {
  id: string;
  /** IPAM.Configs[0] of the network spec, when given */
  subnet?: string;
  gateway?: string;
  ipRange?: string;
}

export interface NetworkAllocation {
  subnet: string;
  gateway: string;
  ipRange?: string;
  vni: number;
}

interface NetState {
  alloc: NetworkAllocation;
  cidr: Cidr;
  addrs: SubnetAllocator;
}

export class NetworkAllocator {
  private readonly nets = new Map<string, NetState>();
  private readonly vnis = new Set<number>();
  private nextVni = VNI_START;
  /** "<owner>\u0000<network>" → address, owner = "vip:<service>", "task:<task>" or "node:<node>" */
  private readonly held = new Map<string, number>();

  constructor(private readonly pools: readonly AddressPool[] = DEFAULT_OVERLAY_POOLS) {}

  private takeVni(): number {
    for (let i = 0; i <= VNI_END - VNI_START; i++) {
      const v = VNI_START + ((this.nextVni - VNI_START + i) % (VNI_END - VNI_START + 1));
      if (!this.vnis.has(v)) {
        this.vnis.add(v);
        this.nextVni = v + 1 > VNI_END ? VNI_START : v + 1;
        return v;
      }
    }
    throw new NetworkError(409, 'no free VXLAN ID left');
  }

  private build(req: NetworkRequest, vni: number | undefined): NetState {
    if (this.nets.has(req.id)) throw new NetworkError(409, `network ${req.id} is already allocated`);
    const used = [...this.nets.values()].map((n) => n.cidr);
    let cidr: Cidr;
    if (req.subnet) {
      cidr = mustParseCidr(req.subnet, 'IPAM.Config.Subnet');
      const clash = [...this.nets.values()].find((n) => overlaps(n.cidr, cidr));
      if (clash) throw new NetworkError(403, `subnet ${formatCidr(cidr)} overlaps with the subnet ${clash.alloc.subnet} of another network`);
    } else {
      if (req.gateway || req.ipRange) throw new NetworkError(400, 'IPAM.Config: a gateway or ip-range needs a subnet');
      cidr = pickSubnet(this.pools, used);
    }
    const gateway = req.gateway ? mustParseIPv4(req.gateway, 'IPAM.Config.Gateway') : cidr.base + 1;
    const range = req.ipRange ? mustParseCidr(req.ipRange, 'IPAM.Config.IPRange') : undefined;
    const addrs = new SubnetAllocator(cidr, gateway, range);
    const alloc: NetworkAllocation = { subnet: formatCidr(cidr), gateway: formatIPv4(gateway), vni: vni ?? this.takeVni() };
    if (range) alloc.ipRange = formatCidr(range);
    return { alloc, cidr, addrs };
  }

  allocateNetwork(req: NetworkRequest): NetworkAllocation {
    const st = this.build(req, undefined);
    this.nets.set(req.id, st);
    return { ...st.alloc };
  }

  /** Re-registers a network allocated earlier (as recorded in the store). */
  restoreNetwork(id: string, a: NetworkAllocation): void {
    if (this.vnis.has(a.vni)) throw new NetworkError(409, `VXLAN ID ${a.vni} of network ${id} is already held`);
    const req: NetworkRequest = { id, subnet: a.subnet, gateway: a.gateway };
    if (a.ipRange) req.ipRange = a.ipRange;
    const st = this.build(req, a.vni);
    this.vnis.add(a.vni);
    this.nets.set(id, st);
  }

  releaseNetwork(id: string): void {
    const st = this.nets.get(id);
    if (!st) return;
    for (const k of this.held.keys()) if (k.endsWith(`\u0000${id}`)) this.held.delete(k);
    this.vnis.delete(st.alloc.vni);
    this.nets.delete(id);
  }

  network(id: string): NetworkAllocation | undefined {
    const st = this.nets.get(id);
    return st ? { ...st.alloc } : undefined;
  }

  private addr(owner: string, networkId: string, preferred?: string): string {
    const st = this.nets.get(networkId);
    if (!st) throw new NetworkError(404, `network ${networkId} is not allocated`);
    const k = `${owner}\u0000${networkId}`;
    const have = this.held.get(k);
    if (have !== undefined) return `${formatIPv4(have)}/${st.cidr.prefixLen}`;
    const want = preferred ? parseIPv4(preferred.split('/')[0]!) : undefined;
    const a = st.addrs.allocate(want);
    this.held.set(k, a);
    return `${formatIPv4(a)}/${st.cidr.prefixLen}`;
  }

  private release(owner: string, networkId?: string): void {
    for (const [k, a] of [...this.held]) {
      const [o, net] = k.split('\u0000') as [string, string];
      if (o !== owner || (networkId !== undefined && net !== networkId)) continue;
      this.nets.get(net)?.addrs.release(a);
      this.held.delete(k);
    }
  }

  /** The service's virtual IP on a network ("10.0.1.2/24"); the same one on every call until released. */
  allocateVip(serviceId: string, networkId: string, preferred?: string): string {
    return this.addr(`vip:${serviceId}`, networkId, preferred);
  }

  releaseVips(serviceId: string, networkId?: string): void {
    this.release(`vip:${serviceId}`, networkId);
  }

  /** A task's address on a network; the same one on every call until released. */
  allocateTaskAddress(taskId: string, networkId: string, preferred?: string): string {
    return this.addr(`task:${taskId}`, networkId, preferred);
  }

  releaseTask(taskId: string): void {
    this.release(`task:${taskId}`);
  }

  /** A node's own address on a network (its ingress address); the same one on every call until released. */
  allocateNodeAddress(nodeId: string, networkId: string, preferred?: string): string {
    return this.addr(`node:${nodeId}`, networkId, preferred);
  }

  releaseNode(nodeId: string): void {
    this.release(`node:${nodeId}`);
  }

  /** The networks allocated now. */
  networkIds(): string[] {
    return [...this.nets.keys()];
  }

  /** How many addresses a network has handed out (tests and metrics). */
  inUse(networkId: string): number {
    return this.nets.get(networkId)?.addrs.inUse ?? 0;
  }
}
