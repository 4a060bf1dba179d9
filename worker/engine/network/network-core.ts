/**
 * The engine's network manager: networks (the default `bridge`, `host`, `none` and user-defined bridges),
 * IPAM, container network namespaces and endpoints, published ports (nftables), the embedded DNS.
 * State lives in `<stateDir>/networks.json`; `open` restores it and re-creates missing kernel objects.
 * Container attach/detach/connect/disconnect live in network-manager.ts, on top of this core.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { ensureBridge, deleteLink, deleteNetns, defaultRouteMtu, listLinks, netnsExists, netnsPath, NETNS_DIR } from './bridge-links.js';
import { type ResolvConf, parseResolvConf } from './container-files.js';
import { EmbeddedDns, parseUpstream, type Upstream } from './dns-server.js';
import { NetworkError, notFound, conflict, badRequest } from './errors.js';
import { HostExec } from './exec.js';
import { type AddressPool, pickSubnet, SubnetAllocator } from './ipam.js';
import { contains, formatCidr, formatIPv4, macForIPv4, mustParseCidr, mustParseIPv4 } from './ipv4.js';
import { checkCreateBody, checkNoOverlap, firstHost, toRecord } from './network-spec.js';
import { applyVipRuleset, type ServiceVip } from './vip-ruleset.js';
import { applyIngressRuleset, buildIngressRuleset, ingressTableName, setIngressAddress } from './ingress-ruleset.js';
import { deleteOverlayLinks, ensureOverlayLinks, programPeers, VXLAN_OVERHEAD, type OverlayPeer } from './overlay-links.js';
import { applyRuleset, buildRuleset, deleteTable, NftSync, tableName, type NftBridge, type NftPort } from './nft-ruleset.js';
import { PortAllocator } from './port-allocator.js';
import { StateFile } from './state-file.js';
import { KeyedQueue, Mutex } from '../mutex.js';
import type { ContainerNetState, IngressPortSpec, NetworkRecord, NetworkState, OverlaySpec, PersistedNetworkState } from './types.js';

export interface NetworkManagerOptions {
  stateDir: string;
  /** short per-engine prefix of every kernel object name: [a-z0-9]{1,7} */
  prefix: string;
  /** MTU of bridges and veths; default: the MTU of the default-route interface, or 1500 */
  mtu?: number;
  /** subnet of the default `bridge` network (default 172.30.0.0/16) */
  defaultBridgeSubnet?: string;
  /** pools user-defined networks take subnets from (default 172.31.0.0/16 in /24s, then 192.168.128.0/17 in /24s) */
  addressPools?: { base: string; size: number }[];
  /** netns (name under /run/netns, or a path) holding the engine's bridges, NAT table and published ports; default: ours */
  hostNetns?: string;
  /** resolvers the embedded DNS forwards to ("1.2.3.4" or "1.2.3.4:5353"); default: the nameservers of hostResolvConfPath */
  dnsUpstreams?: string[];
  /** default /etc/resolv.conf */
  hostResolvConfPath?: string;
  /** default /etc/hosts (the hosts file of host-network containers) */
  hostHostsPath?: string;
  /** deadline of one forwarded DNS query (default 2000 ms) */
  dnsForwardTimeoutMs?: number;
  /** this host's underlay address, the source of its VXLAN traffic (needed for overlay networks) */
  overlayLocalAddr?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export const DEFAULT_BRIDGE_SUBNET = '172.30.0.0/16';
export const DEFAULT_ADDRESS_POOLS = [
  { base: '172.31.0.0/16', size: 24 },
  { base: '192.168.128.0/17', size: 24 },
];

const newId = (): string => randomBytes(32).toString('hex');

export class NetworkCore {
  readonly opts: NetworkManagerOptions;
  readonly prefix: string;
  readonly host: HostExec;
  readonly mtu: number;
  readonly pools: AddressPool[];
  readonly networks = new Map<string, NetworkState>();
  readonly allocators = new Map<string, SubnetAllocator>();
  readonly containers = new Map<string, ContainerNetState>();
  readonly ports = new PortAllocator();
  readonly lock = new Mutex();
  readonly dns: EmbeddedDns;
  readonly hostResolv: ResolvConf;
  private readonly upstreams: Upstream[];
  private readonly stateFile: StateFile;
  private readonly nft: NftSync;
  private saving: Promise<void> = Promise.resolve();
  /** the next write, queued behind the one in progress: later callers join it */
  private queued: { done: Promise<void>; durable: boolean } | undefined;
  private closed = false;
  private readonly ops = new KeyedQueue();

  protected constructor(opts: NetworkManagerOptions, host: HostExec, mtu: number, hostResolv: ResolvConf) {
    this.opts = opts;
    this.prefix = opts.prefix;
    this.host = host;
    this.mtu = mtu;
    this.hostResolv = hostResolv;
    this.pools = (opts.addressPools ?? DEFAULT_ADDRESS_POOLS).map((p) => ({ base: mustParseCidr(p.base, 'address pool'), size: p.size }));
    this.upstreams = (opts.dnsUpstreams ?? hostResolv.nameservers).map((t) => {
      const u = parseUpstream(t);
      if (!u) throw badRequest(`invalid DNS upstream ${JSON.stringify(t)}`);
      return u;
    });
    this.stateFile = new StateFile(opts.stateDir);
    this.nft = new NftSync(() => this.applyNft());
    this.dns = new EmbeddedDns({
      lookup: (cid, name) => this.lookup(cid, name),
      upstreams: () => this.upstreams,
      forwardTimeoutMs: opts.dnsForwardTimeoutMs ?? 2_000,
      onError: (e) => this.log('embedded DNS error', { error: String(e) }),
    });
  }

  protected static async prepare(opts: NetworkManagerOptions): Promise<{ host: HostExec; mtu: number; resolv: ResolvConf }> {
    if (!/^[a-z0-9]{1,7}$/.test(opts.prefix)) throw badRequest(`network prefix ${JSON.stringify(opts.prefix)} must be 1-7 characters of [a-z0-9]`);
    const hostNs = opts.hostNetns === undefined ? undefined : opts.hostNetns.includes('/') ? opts.hostNetns : `${NETNS_DIR}/${opts.hostNetns}`;
    const host = new HostExec(hostNs);
    const mtu = opts.mtu ?? (await defaultRouteMtu(host));
    let resolvText = '';
    try {
      resolvText = await readFile(opts.hostResolvConfPath ?? '/etc/resolv.conf', 'utf8');
    } catch {
      resolvText = '';
    }
    return { host, mtu, resolv: parseResolvConf(resolvText) };
  }

  log(msg: string, fields?: Record<string, unknown>): void {
    this.opts.log?.(msg, fields);
  }

  /** Restores persisted state (or creates the built-in networks) and re-creates missing kernel objects. */
  protected async restore(): Promise<void> {
    const st = await this.stateFile.load();
    for (const n of st?.networks ?? []) this.addNetworkState(n);
    for (const c of st?.containers ?? []) {
      this.containers.set(c.containerId, c);
      for (const ep of c.endpoints) this.allocators.get(ep.networkId)?.restore(mustParseIPv4(ep.ip));
      this.ports.restore(c.containerId, c.ports);
    }
    if (!this.byName('bridge')) {
      const subnet = mustParseCidr(this.opts.defaultBridgeSubnet ?? DEFAULT_BRIDGE_SUBNET, 'default bridge subnet');
      this.addNetworkState(this.newBridgeState('bridge', { builtin: true, subnet, gateway: firstHost(subnet), internal: false, masquerade: true }));
    }
    if (!this.byName('host')) this.addNetworkState(this.builtinState('host', 'host'));
    if (!this.byName('none')) this.addNetworkState(this.builtinState('none', 'null'));
    for (const n of this.networks.values()) {
      if (n.driver === 'bridge') await this.ensureKernelBridge(n);
      if (n.driver === 'overlay') {
        await this.ensureKernelOverlay(n, true).catch((e: unknown) => this.log('overlay network not restored until the swarm sends it again', { network: n.name, error: String(e) }));
        if (n.ingress && n.ingressAddr) await this.applyIngress(n, undefined).catch((e: unknown) => this.log('routing mesh not restored', { network: n.name, error: String(e) }));
      }
    }
    // Re-enslave surviving veths (a re-created bridge has no ports); missing ones are the caller's to detach.
    const replug: string[] = [];
    for (const c of this.containers.values()) {
      for (const ep of c.endpoints) {
        const br = this.networks.get(ep.networkId)?.bridge;
        if (br) replug.push(`link set dev ${ep.hostVeth} master ${br}`, `link set dev ${ep.hostVeth} type bridge_slave hairpin on`, `link set dev ${ep.hostVeth} up`);
      }
    }
    if (replug.length > 0) await this.host.ipBatch(replug, { force: true });
    await this.nft.sync();
    for (const c of this.containers.values()) {
      if (c.netns && this.needsDns(c) && (await netnsExists(c.netns))) {
        await this.dns.listenIn(c.containerId, netnsPath(c.netns)).catch((e: unknown) => this.log('could not restore embedded DNS', { container: c.containerId, error: String(e) }));
      }
    }
    await this.save();
  }

  private builtinState(name: string, driver: 'host' | 'null'): NetworkState {
    return { id: newId(), name, driver, created: new Date().toISOString(), builtin: true, internal: false, attachable: false, masquerade: false, options: {}, labels: {} };
  }

  private newBridgeState(name: string, p: { builtin: boolean; subnet: ReturnType<typeof mustParseCidr>; gateway: number; ipRange?: ReturnType<typeof mustParseCidr>; internal: boolean; masquerade: boolean }): NetworkState {
    const used = new Set([...this.networks.values()].map((n) => n.bridge));
    let i = p.builtin ? 0 : 1;
    while (used.has(`${this.prefix}br${i}`)) i++;
    const n: NetworkState = {
      id: newId(), name, driver: 'bridge', created: new Date().toISOString(), builtin: p.builtin, bridge: `${this.prefix}br${i}`,
      subnet: formatCidr(p.subnet), gateway: formatIPv4(p.gateway), internal: p.internal, attachable: false, masquerade: p.masquerade, options: {}, labels: {},
    };
    if (p.ipRange) n.ipRange = formatCidr(p.ipRange);
    return n;
  }

  /** MTU of overlay bridges and their veths: the underlay's minus the VXLAN overhead. */
  get overlayMtu(): number {
    return this.mtu - VXLAN_OVERHEAD;
  }

  private async ensureKernelOverlay(n: NetworkState, restorePeers = false): Promise<void> {
    if (!n.bridge || !n.vxlan || n.vni === undefined) return;
    // on a restart the engine opens before the swarm tells it its address: the one the overlay was made with
    const local = this.opts.overlayLocalAddr ?? n.local;
    if (!local) throw new NetworkError(500, `overlay network ${n.name} needs this host's underlay address (overlayLocalAddr / --advertise-addr)`);
    n.local = local;
    await ensureOverlayLinks(this.host, { bridge: n.bridge, vxlan: n.vxlan, vni: n.vni, local, mtu: n.mtu ?? this.overlayMtu });
    if (restorePeers && n.peers?.length) await programPeers(this.host, n.vxlan, n.peers, n.peers, true);
  }

  private freeLinkIndex(kind: string): number {
    const used = new Set([...this.networks.values()].flatMap((n) => [n.bridge, n.vxlan]));
    let i = 0;
    while (used.has(`${this.prefix}${kind}${i}`)) i++;
    return i;
  }

  /**
   * Makes the swarm overlay `spec` exist on this host (idempotent: the same ID again is a no-op, a changed
   * VNI or subnet is refused). The manager owns its ID, VNI and addresses; this host only plumbs it.
   */
  ensureOverlay(spec: OverlaySpec): Promise<NetworkRecord> {
    return this.lock.run(async () => {
      this.assertOpen();
      if (!Number.isInteger(spec.vni) || spec.vni < 1 || spec.vni > 0xffffff) throw badRequest(`invalid VXLAN ID ${spec.vni}: must be 1-16777215`);
      const subnet = mustParseCidr(spec.subnet, 'subnet');
      const gateway = mustParseIPv4(spec.gateway, 'gateway');
      const have = this.networks.get(spec.id);
      if (have) {
        if (have.vni !== spec.vni || have.subnet !== formatCidr(subnet)) throw conflict(`network ${have.name} exists on this node with VXLAN ID ${have.vni} and subnet ${have.subnet}`);
        await this.ensureKernelOverlay(have);
        return this.record(have);
      }
      const clash = this.byName(spec.name);
      if (clash) throw conflict(`network with name ${spec.name} already exists on this node (id ${clash.id.slice(0, 12)})`);
      const vniClash = [...this.networks.values()].find((n) => n.vni === spec.vni);
      if (vniClash) throw conflict(`VXLAN ID ${spec.vni} is already used by network ${vniClash.name}`);
      checkNoOverlap(subnet, this.networks.values());
      const i = this.freeLinkIndex('ov');
      const n: NetworkState = {
        id: spec.id, name: spec.name, driver: 'overlay', created: new Date().toISOString(), builtin: false,
        bridge: `${this.prefix}ov${i}`, vxlan: `${this.prefix}vx${i}`, vni: spec.vni,
        subnet: formatCidr(subnet), gateway: formatIPv4(gateway), internal: spec.internal === true, attachable: spec.attachable === true,
        masquerade: false, options: { ...(spec.options ?? {}) }, labels: { ...(spec.labels ?? {}) }, peers: [], records: {},
      };
      if (spec.ingress) n.ingress = true;
      this.addNetworkState(n);
      try {
        await this.ensureKernelOverlay(n);
        await this.nft.sync();
      } catch (e) {
        this.networks.delete(n.id);
        this.allocators.delete(n.id);
        await deleteOverlayLinks(this.host, { bridge: n.bridge!, vxlan: n.vxlan! }).catch(() => undefined);
        await this.nft.sync().catch(() => undefined);
        throw e instanceof NetworkError ? e : new NetworkError(500, `could not create overlay network ${spec.name}: ${(e as Error).message}`, { cause: e });
      }
      await this.save();
      return this.record(n);
    });
  }

  /**
   * Sets the remote endpoints of an overlay (every task on it that runs on another host): their
   * forwarding and neighbour entries are programmed, and their addresses are never handed out here.
   */
  setOverlayPeers(idOrName: string, peers: readonly OverlayPeer[]): Promise<void> {
    return this.lock.run(async () => {
      this.assertOpen();
      const n = this.resolveNetwork(idOrName);
      if (n.driver !== 'overlay' || !n.vxlan) throw badRequest(`network ${n.name} is not an overlay network`);
      const subnet = mustParseCidr(n.subnet!);
      const next: OverlayPeer[] = [];
      const seen = new Set<string>();
      for (const p of peers) {
        const ip = mustParseIPv4(p.ip, 'peer address');
        mustParseIPv4(p.vtep, 'peer host address');
        if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(p.mac)) throw badRequest(`invalid peer MAC address ${JSON.stringify(p.mac)}`);
        if (!contains(subnet, ip)) throw badRequest(`peer address ${p.ip} is outside ${n.subnet}`);
        if (p.vtep === this.opts.overlayLocalAddr) continue; // our own endpoints are on the bridge
        if (seen.has(p.ip)) throw badRequest(`peer address ${p.ip} is listed twice`);
        seen.add(p.ip);
        next.push({ ip: p.ip, mac: p.mac.toLowerCase(), vtep: p.vtep });
      }
      const alloc = this.allocators.get(n.id);
      for (const p of n.peers ?? []) if (!seen.has(p.ip)) alloc?.release(mustParseIPv4(p.ip));
      for (const p of next) alloc?.restore(mustParseIPv4(p.ip));
      await programPeers(this.host, n.vxlan, n.peers ?? [], next);
      n.peers = next;
      await this.save();
    });
  }

  /** Names the swarm resolves for containers on this overlay (name → addresses); replaces the previous set. */
  setOverlayRecords(idOrName: string, records: Readonly<Record<string, readonly string[]>>): Promise<void> {
    return this.lock.run(async () => {
      this.assertOpen();
      const n = this.resolveNetwork(idOrName);
      if (n.driver !== 'overlay') throw badRequest(`network ${n.name} is not an overlay network`);
      const out: Record<string, string[]> = {};
      for (const [name, ips] of Object.entries(records)) {
        for (const ip of ips) mustParseIPv4(ip, `address of ${name}`);
        out[name.toLowerCase().replace(/\.$/, '')] = [...ips];
      }
      n.records = out;
      await this.save();
    });
  }

  /** Sets the service VIPs of an overlay and their backends; every local container on it is updated at once. */
  setServiceVips(idOrName: string, vips: readonly ServiceVip[]): Promise<void> {
    return this.lock.run(async () => {
      this.assertOpen();
      const n = this.resolveNetwork(idOrName);
      if (n.driver !== 'overlay' || !n.subnet) throw badRequest(`network ${n.name} is not an overlay network`);
      const subnet = mustParseCidr(n.subnet);
      const seen = new Set<string>();
      for (const v of vips) {
        if (!contains(subnet, mustParseIPv4(v.vip, 'VIP'))) throw badRequest(`VIP ${v.vip} is outside ${n.subnet}`);
        if (seen.has(v.vip)) throw badRequest(`VIP ${v.vip} is listed twice`);
        seen.add(v.vip);
        for (const b of v.backends) mustParseIPv4(b, `backend of ${v.vip}`);
      }
      n.vips = vips.map((v) => ({ vip: v.vip, backends: [...v.backends] }));
      await this.save();
      if (n.ingress && n.ingressAddr) await this.applyIngress(n, n.ingressAddr);
      const affected = [...this.containers.values()].filter((c) => c.endpoints.some((ep) => ep.networkId === n.id));
      await Promise.all(affected.map((c) => this.applyVips(c)));
    });
  }

  /**
   * The routing mesh on the ingress overlay (ingress-ruleset.ts): this host's own address on it (given
   * by the swarm; it goes on the bridge with MAC 02:42+address, the one the other hosts' forwarding
   * entries name) and the published ports, each led to the backends of a service VIP of this network.
   * Without an address nothing is published (the replies could not come back).
   */
  setIngress(idOrName: string, s: { address?: string; ports: readonly IngressPortSpec[] }): Promise<void> {
    return this.lock.run(async () => {
      this.assertOpen();
      const n = this.resolveNetwork(idOrName);
      if (n.driver !== 'overlay' || !n.ingress || !n.subnet || !n.bridge) throw badRequest(`network ${n.name} is not the swarm's ingress network`);
      const subnet = mustParseCidr(n.subnet);
      let address: string | undefined;
      if (s.address !== undefined) {
        const [ip, len] = s.address.split('/');
        const a = mustParseIPv4(ip ?? '', 'ingress address');
        if (!contains(subnet, a) || Number(len ?? subnet.prefixLen) !== subnet.prefixLen) throw badRequest(`ingress address ${s.address} is outside ${n.subnet}`);
        address = `${formatIPv4(a)}/${subnet.prefixLen}`;
      }
      const seen = new Set<string>();
      for (const p of s.ports) {
        if (!['tcp', 'udp', 'sctp'].includes(p.proto)) throw badRequest(`published port protocol ${JSON.stringify(p.proto)} is not tcp, udp or sctp`);
        for (const [what, v] of [['published port', p.publishedPort], ['target port', p.targetPort]] as const) {
          if (!Number.isInteger(v) || v < 1 || v > 65535) throw badRequest(`${what} ${String(v)} is not a port (1-65535)`);
        }
        if (!contains(subnet, mustParseIPv4(p.vip, 'VIP'))) throw badRequest(`VIP ${p.vip} is outside ${n.subnet}`);
        const k = `${p.proto}/${p.publishedPort}`;
        if (seen.has(k)) throw badRequest(`published port ${k} is listed twice`);
        seen.add(k);
      }
      const prev = n.ingressAddr;
      if (prev && prev !== address) this.allocators.get(n.id)?.release(mustParseIPv4(prev.split('/')[0]!));
      if (address) this.allocators.get(n.id)?.restore(mustParseIPv4(address.split('/')[0]!));
      if (address) n.ingressAddr = address;
      else delete n.ingressAddr;
      n.ingressPorts = s.ports.map((p) => ({ proto: p.proto, publishedPort: p.publishedPort, targetPort: p.targetPort, vip: p.vip }));
      await this.applyIngress(n, prev);
      await this.save();
    });
  }

  /** Puts the ingress address on the bridge and replaces the routing-mesh table (removes it without an address). */
  private async applyIngress(n: NetworkState, prevAddr: string | undefined): Promise<void> {
    const table = ingressTableName(this.prefix);
    if (!n.bridge || !n.ingressAddr) {
      if (prevAddr && n.bridge) await this.host.ipBatch([`addr del ${prevAddr} dev ${n.bridge}`], { force: true });
      await deleteTable(this.host, table);
      return;
    }
    await setIngressAddress(this.host, n.bridge, prevAddr, n.ingressAddr, macForIPv4(mustParseIPv4(n.ingressAddr.split('/')[0]!)));
    const backends = new Map((n.vips ?? []).map((v) => [v.vip, v.backends]));
    const rules = (n.ingressPorts ?? []).map((p) => ({ proto: p.proto, publishedPort: p.publishedPort, targetPort: p.targetPort, backends: backends.get(p.vip) ?? [] }));
    await applyIngressRuleset(this.host, table, buildIngressRuleset(table, n.bridge, rules));
  }

  /** Programs the VIP table in a container netns from the VIPs of every overlay it is on. */
  async applyVips(c: ContainerNetState): Promise<void> {
    if (!c.netns) return;
    const nets = c.endpoints.map((ep) => this.networks.get(ep.networkId)).filter((n): n is NetworkState => n?.driver === 'overlay');
    if (nets.length === 0) return;
    await applyVipRuleset(netnsPath(c.netns), nets.flatMap((n) => n.vips ?? []));
  }

  private addNetworkState(n: NetworkState): void {
    this.networks.set(n.id, n);
    if (n.subnet && n.gateway) {
      const a = new SubnetAllocator(mustParseCidr(n.subnet), mustParseIPv4(n.gateway), n.ipRange ? mustParseCidr(n.ipRange) : undefined);
      if (n.cursor !== undefined) a.setCursor(n.cursor);
      this.allocators.set(n.id, a);
    }
  }

  private async ensureKernelBridge(n: NetworkState): Promise<void> {
    if (!n.bridge || !n.subnet || !n.gateway) return;
    await ensureBridge(this.host, n.bridge, `${n.gateway}/${n.subnet.split('/')[1]}`, n.mtu ?? this.mtu);
  }

  byName(name: string): NetworkState | undefined {
    for (const n of this.networks.values()) if (n.name === name) return n;
    return undefined;
  }

  /** Full id, name, then a unique id prefix (Docker's order). 404 otherwise. */
  resolveNetwork(idOrName: string): NetworkState {
    const exact = this.networks.get(idOrName) ?? this.byName(idOrName);
    if (exact) return exact;
    const matches = [...this.networks.values()].filter((n) => idOrName.length > 0 && n.id.startsWith(idOrName));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw badRequest(`network ${idOrName} is ambiguous (${matches.length} matches found based on ID prefix)`);
    throw notFound(`network ${idOrName} not found`);
  }

  isUserBridge(n: NetworkState): boolean {
    return n.driver === 'bridge' && !n.builtin;
  }

  /** Networks with name resolution and aliases: user-defined bridges and overlays. */
  isUserNetwork(n: NetworkState): boolean {
    return this.isUserBridge(n) || n.driver === 'overlay';
  }

  needsDns(c: ContainerNetState): boolean {
    return c.endpoints.some((ep) => {
      const n = this.networks.get(ep.networkId);
      return n !== undefined && this.isUserNetwork(n);
    });
  }

  /** Names visible to `askerId`: container names, short/full ids and aliases on its user-defined networks. */
  lookup(askerId: string, name: string): string[] | undefined {
    const asker = this.containers.get(askerId);
    if (!asker) return undefined;
    const q = name.toLowerCase();
    const out: string[] = [];
    for (const mine of asker.endpoints) {
      const n = this.networks.get(mine.networkId);
      if (!n || !this.isUserNetwork(n)) continue;
      for (const ip of n.records?.[q] ?? []) if (!out.includes(ip)) out.push(ip);
      for (const c of this.containers.values()) {
        for (const ep of c.endpoints) {
          if (ep.networkId !== n.id) continue;
          const names = [c.name.replace(/^\//, ''), c.containerId.slice(0, 12), c.containerId, ...ep.aliases].map((s) => s.toLowerCase());
          if (names.includes(q) && !out.includes(ep.ip)) out.push(ep.ip);
        }
      }
    }
    return out.length > 0 ? out : undefined;
  }

  // ---- networks ----

  create(body: unknown): Promise<NetworkRecord> {
    return this.lock.run(async () => {
      this.assertOpen();
      const c = checkCreateBody(body);
      if (this.byName(c.name)) throw conflict(`network with name ${c.name} already exists`);
      const taken = [...this.networks.values()].filter((n) => n.subnet).map((n) => mustParseCidr(n.subnet!));
      let subnet = c.subnet;
      if (subnet) checkNoOverlap(subnet, this.networks.values());
      else subnet = pickSubnet(this.pools, taken);
      const gateway = c.gateway ?? firstHost(subnet);
      // validates gateway/range placement before anything is created
      new SubnetAllocator(subnet, gateway, c.ipRange);
      const n = this.newBridgeState(c.name, { builtin: false, subnet, gateway, internal: c.internal, masquerade: c.masquerade, ...(c.ipRange ? { ipRange: c.ipRange } : {}) });
      n.attachable = c.attachable;
      n.options = c.options;
      n.labels = c.labels;
      if (c.mtu !== undefined) n.mtu = c.mtu;
      this.addNetworkState(n);
      try {
        await this.ensureKernelBridge(n);
        await this.nft.sync();
      } catch (e) {
        this.networks.delete(n.id);
        this.allocators.delete(n.id);
        await deleteLink(this.host, n.bridge!).catch(() => undefined);
        await this.nft.sync().catch(() => undefined);
        throw new NetworkError(500, `could not create network ${c.name}: ${(e as Error).message}`, { cause: e });
      }
      await this.save();
      return this.record(n);
    });
  }

  record(n: NetworkState): NetworkRecord {
    return toRecord(n, this.containers.values(), this.mtu);
  }

  list(): NetworkRecord[] {
    return [...this.networks.values()].map((n) => this.record(n));
  }

  inspect(idOrName: string): NetworkRecord {
    return this.record(this.resolveNetwork(idOrName));
  }

  endpointCount(networkId: string): number {
    let k = 0;
    for (const c of this.containers.values()) k += c.endpoints.filter((e) => e.networkId === networkId).length;
    return k;
  }

  private async removeLocked(n: NetworkState): Promise<void> {
    if (n.builtin) throw new NetworkError(403, `${n.name} is a pre-defined network and cannot be removed`);
    if (this.endpointCount(n.id) > 0) throw conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    this.networks.delete(n.id);
    this.allocators.delete(n.id);
    if (n.ingress) await deleteTable(this.host, ingressTableName(this.prefix));
    if (n.vxlan) await deleteLink(this.host, n.vxlan);
    if (n.bridge) await deleteLink(this.host, n.bridge);
    await this.nft.sync();
    await this.save();
  }

  remove(idOrName: string): Promise<void> {
    return this.lock.run(async () => {
      this.assertOpen();
      await this.removeLocked(this.resolveNetwork(idOrName));
    });
  }

  /**
   * Removes every user-defined network without endpoints; returns their names. Swarm overlays stay: the
   * swarm's agent makes and removes them (an unused ingress still carries this node's routing mesh).
   */
  prune(): Promise<{ NetworksDeleted: string[] }> {
    return this.lock.run(async () => {
      this.assertOpen();
      const deleted: string[] = [];
      for (const n of [...this.networks.values()]) {
        if (n.builtin || n.driver === 'overlay' || this.endpointCount(n.id) > 0) continue;
        await this.removeLocked(n);
        deleted.push(n.name);
      }
      return { NetworksDeleted: deleted };
    });
  }

  // ---- persistence and rules ----

  snapshot(): PersistedNetworkState {
    const networks = [...this.networks.values()].map((n) => {
      const a = this.allocators.get(n.id);
      return a ? { ...n, cursor: a.toJSON().cursor } : { ...n };
    });
    return { version: 1, networks, containers: [...this.containers.values()] };
  }

  /**
   * Persists the current state. Writes are serialized and each writes the state as of its turn, so
   * callers that come while one is queued (not yet begun) join it: under parallel starts one write
   * covers many. `durable: false` (container attach/detach: a host crash ends those containers anyway)
   * skips the fsync unless a joined caller needs it.
   */
  save(o: { durable?: boolean } = {}): Promise<void> {
    const durable = o.durable !== false;
    if (this.queued) {
      this.queued.durable ||= durable;
      return this.queued.done;
    }
    const q: { done: Promise<void>; durable: boolean } = { done: Promise.resolve(), durable };
    q.done = this.saving.catch(() => undefined).then(() => {
      if (this.queued === q) this.queued = undefined;
      return this.stateFile.save(this.snapshot(), q.durable);
    });
    this.queued = q;
    this.saving = q.done;
    return q.done;
  }

  syncRules(): Promise<void> {
    return this.nft.sync();
  }

  private async applyNft(): Promise<void> {
    const bridges: NftBridge[] = [];
    for (const n of this.networks.values()) {
      if (n.driver === 'bridge' && n.bridge && n.subnet) bridges.push({ name: n.bridge, subnet: n.subnet, masquerade: n.masquerade, internal: n.internal });
    }
    const overlays = [...this.networks.values()].filter((n) => n.driver === 'overlay' && n.subnet && n.bridge).map((n) => ({ bridge: n.bridge!, subnet: n.subnet!, untracked: n.ingress !== true }));
    const table = tableName(this.prefix);
    if (bridges.length === 0) {
      await deleteTable(this.host, table);
      return;
    }
    const ports: NftPort[] = [];
    for (const { owner, port } of this.ports.all()) {
      const ip = this.publishEndpoint(owner)?.ip;
      if (ip) ports.push({ hostIp: port.hostIp, proto: port.proto, hostPort: port.hostPort, containerIp: ip, containerPort: port.containerPort });
    }
    await applyRuleset(this.host, table, buildRuleset(table, `${this.prefix}br*`, bridges, ports, overlays, this.opts.overlayLocalAddr));
  }

  /** The endpoint published ports lead to: the first one on a bridge network (the host routes only there). */
  publishEndpoint(containerId: string): ContainerNetState['endpoints'][number] | undefined {
    const c = this.containers.get(containerId);
    return c?.endpoints.find((ep) => this.networks.get(ep.networkId)?.driver === 'bridge') ?? c?.endpoints[0];
  }

  /** Remembers an operation so that close() waits for it. */
  track<T>(p: Promise<T>): Promise<T> {
    return this.ops.track(p);
  }

  /** Runs operations on one container one after the other (different containers run side by side). */
  perContainer<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    return this.ops.serialize(containerId, fn);
  }

  assertOpen(): void {
    if (this.closed) throw new NetworkError(500, 'network manager is closed');
  }

  /**
   * Stops the embedded DNS. With removeAll (tests, uninstall): also deletes every container netns and
   * veth, every bridge, the nft table and the state file of this engine.
   */
  async close(opts: { removeAll?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ops.drain();
    return this.lock.run(async () => {
      await this.dns.close();
      await this.saving.catch(() => undefined);
      if (!opts.removeAll) return;
      for (const c of this.containers.values()) {
        for (const ep of c.endpoints) await deleteLink(this.host, ep.hostVeth).catch(() => undefined);
        if (c.netns) await deleteNetns(this.host, c.netns).catch(() => undefined);
      }
      const mine = new RegExp(`^${this.prefix}(br\\d+|ov\\d+|vx\\d+|v[0-9a-f]{7})$`);
      for (const l of await listLinks(this.host, this.prefix).catch(() => [] as string[])) if (mine.test(l)) await deleteLink(this.host, l).catch(() => undefined);
      const myNs = new RegExp(`^${this.prefix}-[0-9a-zA-Z]{12}$`);
      for (const ns of await readdir(NETNS_DIR).catch(() => [] as string[])) if (myNs.test(ns)) await deleteNetns(this.host, ns).catch(() => undefined);
      await deleteTable(this.host, tableName(this.prefix));
      await deleteTable(this.host, ingressTableName(this.prefix));
      this.containers.clear();
      this.networks.clear();
      await this.stateFile.remove();
    });
  }
}
