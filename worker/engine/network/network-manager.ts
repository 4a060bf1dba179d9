/**
 * NetworkManager: the network core plus containers — attach (netns, one veth per network, published
 * ports, embedded DNS), detach, connect and disconnect. Every change is all-or-nothing: a failure undoes
 * what the step created and gives back the addresses and ports it took.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createNetns, deleteLink, netnsPath, plugVeth } from './bridge-links.js';
import { embeddedResolvConf, hostResolvConf, hostsFile } from './container-files.js';
import { badRequest, conflict, NetworkError, notFound } from './errors.js';
import { boundPorts } from './host-ports.js';
import { formatIPv4, macForIPv4, mustParseIPv4 } from './ipv4.js';
import { NetworkCore, type NetworkManagerOptions } from './network-core.js';
import { prefixLenOf } from './network-spec.js';
import type { PortProto, PublishedPort } from './port-allocator.js';
import type { AttachEndpoint, Attachment, AttachRequest, ContainerNetState, EndpointState, NetworkState } from './types.js';

export type { NetworkManagerOptions };

/** A container's attach/detach is written without fsync (NetworkCore.save says why). */
const TRANSIENT = { durable: false } as const;

interface PlannedEndpoint {
  network: NetworkState;
  aliases: string[];
  preferredIp?: string;
}

export class NetworkManager extends NetworkCore {
  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const p = await NetworkCore.prepare(opts);
    const m = new NetworkManager(opts, p.host, p.mtu, p.resolv);
    await m.restore();
    return m;
  }

  netnsName(containerId: string): string {
    return `${this.prefix}-${containerId.slice(0, 12)}`;
  }

  private newEndpoint(network: NetworkState, ifname: string, aliases: string[], preferredIp?: string): EndpointState {
    const alloc = this.allocators.get(network.id);
    if (!alloc) throw badRequest(`network ${network.name} has no address space`);
    const ip = alloc.allocate(preferredIp ? mustParseIPv4(preferredIp, 'IPv4 address') : undefined);
    const taken = new Set([...this.containers.values()].flatMap((c) => c.endpoints.map((e) => e.hostVeth)));
    let id = randomBytes(32).toString('hex');
    while (taken.has(`${this.prefix}v${id.slice(0, 7)}`)) id = randomBytes(32).toString('hex');
    return { id, networkId: network.id, ifname, hostVeth: `${this.prefix}v${id.slice(0, 7)}`, ip: formatIPv4(ip), mac: macForIPv4(ip), aliases };
  }

  private releaseEndpoint(ep: EndpointState): void {
    this.allocators.get(ep.networkId)?.release(mustParseIPv4(ep.ip));
  }

  private planEndpoints(req: AttachRequest): PlannedEndpoint[] {
    const mode = req.networkMode === 'default' || req.networkMode === '' ? 'bridge' : req.networkMode;
    const plan: PlannedEndpoint[] = [];
    const add = (n: NetworkState, aliases: string[], ip?: string): void => {
      if (n.driver !== 'bridge' && n.driver !== 'overlay') throw badRequest(`container cannot be connected to network ${n.name} together with other networks`);
      const have = plan.find((p) => p.network.id === n.id);
      if (have) {
        have.aliases.push(...aliases.filter((a) => !have.aliases.includes(a)));
        if (ip) have.preferredIp = ip;
      } else plan.push(ip ? { network: n, aliases: [...aliases], preferredIp: ip } : { network: n, aliases: [...aliases] });
    };
    add(this.resolveNetwork(mode), []);
    const first = this.resolveNetwork(mode);
    if (first.driver === 'overlay' && first.ingress) throw new NetworkError(403, `network ${first.name} is the swarm's ingress network: containers cannot join it`);
    for (const x of req.extraNetworks ?? []) add(this.resolveNetwork(x.network), x.aliases, x.ipv4Address);
    // Overlays are not routed by the host: a container only on overlays also gets the default bridge,
    // for its way out and for published ports (Docker's docker_gwbridge).
    if (plan.every((p) => p.network.driver === 'overlay') && plan.some((p) => !p.network.internal)) add(this.resolveNetwork('bridge'), []);
    for (const p of plan) {
      if (!this.isUserNetwork(p.network) && (p.aliases.length > 0 || p.preferredIp))
        throw badRequest('network-scoped aliases and user-specified IP addresses are supported only for user-defined networks');
    }
    return plan;
  }

  /**
   * Gives a container its network: a netns `/run/netns/<prefix>-<id12>` (none for `host`), one endpoint
   * per network (eth0, eth1, …), published ports on the first endpoint, the embedded DNS on user networks.
   * Addresses and ports are reserved first, under the manager lock; the kernel work then runs outside it,
   * so attaches of different containers overlap.
   */
  async attach(containerId: string, req: AttachRequest): Promise<Attachment> {
    const { attachment, finish } = await this.beginAttach(containerId, req);
    await finish();
    return attachment;
  }

  /**
   * attach in two steps, so that a caller can overlap the second with its own work (the runtime creating
   * the container in the netns): the first reserves addresses and ports and makes the netns — all a
   * runtime needs — and returns the attachment; `finish` plugs the links and brings up the embedded DNS,
   * the VIPs and the port rules. A failure in either undoes everything, as attach does; a caller that
   * gives up between the two calls detach.
   */
  async beginAttach(containerId: string, req: AttachRequest): Promise<{ attachment: Attachment; finish: () => Promise<void> }> {
    this.assertOpen();
    if (!/^[0-9a-zA-Z]{12,64}$/.test(containerId)) throw badRequest(`invalid container id ${JSON.stringify(containerId)}`);
    return this.perContainer(containerId, async () => {
      const c = await this.reserve(containerId, req);
      if (c.netns) {
        try {
          // lo comes up with the first link, in finish (one `ip` run fewer before the runtime's create)
          await createNetns(this.host, c.netns, { loUp: c.endpoints.length === 0 });
        } catch (e) {
          throw await this.failAttach(c, e);
        }
      }
      let finishing: Promise<void> | undefined;
      const finish = (): Promise<void> => (finishing ??= this.perContainer(containerId, () => this.finishAttach(c)));
      return { attachment: this.attachmentOf(c), finish };
    });
  }

  /** Addresses, ports and the container's network state, under the manager lock (no kernel work). */
  private async reserve(containerId: string, req: AttachRequest): Promise<ContainerNetState> {
    const bound = await this.scanHostPorts(req);
    return this.lock.run(async () => {
      this.assertOpen();
      if (this.containers.has(containerId)) throw conflict(`container ${containerId} is already attached to its networks`);
      const base = { containerId, name: req.name.replace(/^\//, ''), hostname: req.hostname };
      const extra = req.extraNetworks ?? [];
      if (req.networkMode === 'host') {
        if (extra.length > 0) throw badRequest('a container on the host network cannot be connected to other networks');
        const hc: ContainerNetState = { ...base, mode: 'host', endpoints: [], ports: [] };
        this.containers.set(containerId, hc);
        return hc;
      }
      if (req.networkMode.startsWith('container:')) throw badRequest('network mode container:<id> is not supported');
      const isNone = req.networkMode === 'none';
      if (isNone && extra.length > 0) throw badRequest('a container on network none cannot be connected to other networks');
      const plan = isNone ? [] : this.planEndpoints(req);
      const endpoints: EndpointState[] = [];
      let ports: PublishedPort[] = [];
      try {
        plan.forEach((p, i) => endpoints.push(this.newEndpoint(p.network, `eth${i}`, p.aliases, p.preferredIp)));
        if (endpoints.length > 0 && req.portBindings.length > 0) ports = this.ports.reserve(containerId, req.portBindings, (proto, port) => !bound.get(proto)?.has(port));
      } catch (e) {
        endpoints.forEach((ep) => this.releaseEndpoint(ep));
        throw e;
      }
      // none: no netns of ours — the runtime makes a new, empty one with lo up (two `ip` runs fewer per start)
      const nc: ContainerNetState = isNone ? { ...base, mode: 'none', endpoints, ports } : { ...base, mode: 'netns', netns: this.netnsName(containerId), endpoints, ports };
      this.containers.set(containerId, nc);
      return nc;
    });
  }

  /** The kernel side of an attach after the netns: links, VIPs and DNS side by side, then port rules. */
  private async finishAttach(c: ContainerNetState): Promise<void> {
    try {
      if (c.netns) {
        const routeVia = c.endpoints.find((ep) => { const n = this.networks.get(ep.networkId)!; return n.driver === 'bridge' && !n.internal; });
        const steps = await Promise.allSettled([
          (async () => {
            for (const [i, ep] of c.endpoints.entries()) await this.plug(c, ep, ep === routeVia, i === 0);
            await this.applyVips(c);
          })(),
          this.needsDns(c) ? this.dns.listenIn(c.containerId, netnsPath(c.netns)) : Promise.resolve(),
        ]);
        for (const st of steps) if (st.status === 'rejected') throw st.reason;
        if (c.ports.length > 0) await this.syncRules();
      }
      await this.save(TRANSIENT);
    } catch (e) {
      throw await this.failAttach(c, e);
    }
  }

  /** Undoes a failed attach and returns the error to throw. */
  private async failAttach(c: ContainerNetState, e: unknown): Promise<NetworkError> {
    await this.teardown(c);
    await this.save(TRANSIENT).catch(() => undefined);
    return e instanceof NetworkError ? e : new NetworkError(500, `could not attach container ${c.containerId}: ${(e as Error).message}`, { cause: e });
  }

  /** Ports bound in the host netns, read only when a range or an ephemeral port is asked for. */
  private async scanHostPorts(req: AttachRequest): Promise<Map<PortProto, Set<number>>> {
    const bound = new Map<PortProto, Set<number>>();
    if (req.networkMode === 'host' || req.networkMode === 'none') return bound;
    const protos = new Set(req.portBindings.filter((b) => !b.hostPort || b.hostPort === '0' || b.hostPort.includes('-')).map((b) => b.proto));
    await Promise.all([...protos].map(async (proto) => bound.set(proto, await boundPorts(this.host, proto))));
    return bound;
  }

  private async plug(c: ContainerNetState, ep: EndpointState, defaultRoute: boolean, loUp = false): Promise<void> {
    const n = this.networks.get(ep.networkId)!;
    await plugVeth(this.host, {
      loUp, netns: c.netns!, hostVeth: ep.hostVeth, bridge: n.bridge!, ifname: ep.ifname, mac: ep.mac,
      addressCidr: `${ep.ip}/${prefixLenOf(n)}`, gateway: defaultRoute ? n.gateway : undefined, mtu: n.mtu ?? (n.driver === 'overlay' ? this.overlayMtu : this.mtu),
    });
  }

  /** Removes the container's kernel objects, then gives back its addresses and ports (state not saved). */
  private async teardown(c: ContainerNetState): Promise<void> {
    await this.dns.stopFor(c.containerId).catch(() => undefined);
    // the host ends of the links and the netns in one `ip -force -batch` (what is already gone is skipped)
    const lines = [...c.endpoints.map((ep) => `link del dev ${ep.hostVeth}`), ...(c.netns ? [`netns del ${c.netns}`] : [])];
    if (lines.length > 0) await this.host.ipBatch(lines, { force: true }).catch(() => undefined);
    c.endpoints.forEach((ep) => this.releaseEndpoint(ep));
    const hadPorts = c.ports.length > 0;
    this.ports.release(c.containerId);
    if (this.containers.get(c.containerId) === c) this.containers.delete(c.containerId);
    if (hadPorts) await this.syncRules().catch((e: unknown) => this.log('nft sync failed during teardown', { error: String(e) }));
  }

  /** Undoes attach: DNS sockets, veths, the netns, published-port rules, addresses. Idempotent. */
  async detach(containerId: string): Promise<void> {
    this.assertOpen();
    return this.perContainer(containerId, async () => {
      const c = this.containers.get(containerId);
      if (!c) return;
      await this.teardown(c);
      await this.save(TRANSIENT);
    });
  }

  /** Adds an endpoint on `network` to an attached container (the next free ethN). */
  async connect(network: string, containerId: string, aliases: string[] = [], ipv4Address?: string): Promise<Attachment> {
    this.assertOpen();
    return this.perContainer(containerId, async () => {
      const { c, ep } = await this.lock.run(async () => {
        const c = this.containers.get(containerId);
        if (!c) throw new NetworkError(409, `container ${containerId} is not running (no network namespace to connect)`);
        if (c.mode !== 'netns') throw badRequest(`container ${containerId} uses network mode ${c.mode} and cannot be connected to other networks`);
        const n = this.resolveNetwork(network);
        if (n.driver !== 'bridge' && n.driver !== 'overlay') throw badRequest(`cannot connect a container to network ${n.name} (driver ${n.driver})`);
        if (n.ingress) throw new NetworkError(403, `network ${n.name} is the swarm's ingress network: containers cannot join it`);
        if (c.endpoints.some((e) => e.networkId === n.id)) throw conflict(`endpoint with name ${c.name} already exists in network ${n.name}`);
        if (!this.isUserNetwork(n) && (aliases.length > 0 || ipv4Address)) throw badRequest('network-scoped aliases and user-specified IP addresses are supported only for user-defined networks');
        const used = new Set(c.endpoints.map((e) => e.ifname));
        let i = 0;
        while (used.has(`eth${i}`)) i++;
        const ep = this.newEndpoint(n, `eth${i}`, aliases, ipv4Address);
        c.endpoints.push(ep);
        return { c, ep };
      });
      const n = this.networks.get(ep.networkId)!;
      try {
        await this.plug(c, ep, c.endpoints.length === 1 && !n.internal && n.driver === 'bridge');
        if (this.needsDns(c)) await this.dns.listenIn(containerId, netnsPath(c.netns!));
        if (n.driver === 'overlay') await this.applyVips(c);
        await this.save();
      } catch (e) {
        c.endpoints = c.endpoints.filter((x) => x !== ep);
        this.releaseEndpoint(ep);
        await deleteLink(this.host, ep.hostVeth).catch(() => undefined);
        throw e instanceof NetworkError ? e : new NetworkError(500, `could not connect ${containerId} to ${n.name}: ${(e as Error).message}`, { cause: e });
      }
      return this.attachmentOf(c);
    });
  }

  /** Removes the container's endpoint on `network` (its published ports go with the first endpoint). */
  async disconnect(network: string, containerId: string): Promise<Attachment> {
    this.assertOpen();
    return this.perContainer(containerId, async () => {
      const c = this.containers.get(containerId);
      if (!c) throw notFound(`container ${containerId} is not attached to any network`);
      const n = this.resolveNetwork(network);
      const ep = c.endpoints.find((e) => e.networkId === n.id);
      if (!ep) throw notFound(`container ${containerId} is not connected to network ${n.name}`);
      const wasFirst = c.endpoints[0] === ep;
      await deleteLink(this.host, ep.hostVeth);
      c.endpoints = c.endpoints.filter((e) => e !== ep);
      this.releaseEndpoint(ep);
      if (wasFirst && c.ports.length > 0) {
        this.ports.release(containerId);
        c.ports = [];
        await this.syncRules();
      }
      if (!this.needsDns(c)) await this.dns.stopFor(containerId);
      await this.save();
      return this.attachmentOf(c);
    });
  }

  /** The current attachment of a container, or undefined when it has none. */
  getAttachment(containerId: string): Attachment | undefined {
    const c = this.containers.get(containerId);
    return c ? this.attachmentOf(c) : undefined;
  }

  /** Ids of every container holding network state (for the caller's stale-endpoint sweep). */
  attachedContainers(): string[] {
    return [...this.containers.keys()];
  }

  private attachmentOf(c: ContainerNetState): Attachment {
    const endpoints: AttachEndpoint[] = c.endpoints.map((ep) => {
      const n = this.networks.get(ep.networkId)!;
      return { networkId: n.id, networkName: n.name, endpointId: ep.id, ipAddress: ep.ip, prefixLen: prefixLenOf(n), gateway: n.gateway ?? '', macAddress: ep.mac, aliases: [...ep.aliases] };
    });
    if (c.mode === 'host') {
      return { endpoints, hostsFile: this.hostHosts ?? hostsFile({ ip: undefined, hostname: c.hostname, name: c.name }), resolvConf: this.hostResolvRaw ?? hostResolvConf(this.hostResolv, true), ports: [] };
    }
    const a: Attachment = {
      endpoints,
      hostsFile: hostsFile({ ip: endpoints[0]?.ipAddress, hostname: c.hostname, name: c.name }),
      resolvConf: this.needsDns(c) ? embeddedResolvConf(this.hostResolv) : hostResolvConf(this.hostResolv),
      ports: c.ports.map((p) => ({ ...p })),
    };
    if (c.netns) a.netnsPath = netnsPath(c.netns);
    else if (c.mode === 'none') a.newNetns = true;
    return a;
  }

  private hostHosts: string | undefined;
  private hostResolvRaw: string | undefined;

  protected override async restore(): Promise<void> {
    this.hostHosts = await readFile(this.opts.hostHostsPath ?? '/etc/hosts', 'utf8').catch(() => undefined);
    this.hostResolvRaw = await readFile(this.opts.hostResolvConfPath ?? '/etc/resolv.conf', 'utf8').catch(() => undefined);
    await super.restore();
  }
}
