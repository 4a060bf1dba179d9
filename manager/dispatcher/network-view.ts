/**
 * What a node must know of each overlay network its tasks are on, derived from the store, pure:
 * the network itself (ID, name, VXLAN ID, subnet, gateway), its peers (every live task's address and
 * MAC with the underlay address of its node — the engine programs the VXLAN forwarding entries of the
 * remote ones), the names the embedded DNS answers (service name → VIP, or the task addresses for
 * dnsrr; `tasks.<service>` → task addresses; the task names and network aliases) and the VIP → backends
 * map (load balancing in each container). SwarmKit spreads this by gossip; shoal sends it with the
 * assignments, so one channel carries everything a node needs.
 */
import type { Network, Node, ReadTx, Service, Task } from '../store/index.js';
import { stateOrder } from '../orchestrator/task-state.js';

export const VXLAN_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

export interface OverlayNetworkSpec {
  id: string;
  name: string;
  vni: number;
  subnet: string;
  gateway: string;
  internal?: boolean;
  attachable?: boolean;
  ingress?: boolean;
  labels?: Record<string, string>;
}

export interface NetworkPeer {
  ip: string;
  mac: string;
  /** underlay address of the node the task runs on */
  vtep: string;
}

/** A port published through the routing mesh, led to the backends of a service VIP on the ingress network. */
export interface IngressPortView {
  protocol: 'tcp' | 'udp' | 'sctp';
  publishedPort: number;
  targetPort: number;
  vip: string;
}

/** The ingress network only: each node's own address on it (by underlay address) and the published ports. */
export interface IngressView {
  nodes: { ip: string; vtep: string }[];
  ports: IngressPortView[];
}

export interface NetworkView {
  network: OverlayNetworkSpec;
  peers: NetworkPeer[];
  /** lower-case name → addresses */
  records: Record<string, string[]>;
  vips: { vip: string; backends: string[] }[];
  /** the swarm's ingress network only (the routing mesh) */
  ingress?: IngressView;
}

/** The MAC the engine gives an endpoint: 02:42 and the four bytes of its IPv4 address (as Docker). */
export function macForAddress(ip: string): string {
  return ['02', '42', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIPv4(s: string | undefined): s is string {
  const m = s ? IPV4.exec(s) : null;
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

/** "10.0.1.5/24" → "10.0.1.5" (undefined when it is not an IPv4 address). */
export function addressOf(cidr: string | undefined): string | undefined {
  const ip = cidr?.split('/')[0];
  return isIPv4(ip) ? ip : undefined;
}

/** The overlay spec of a network object, once the allocator has given it a subnet and a VXLAN ID. */
export function overlaySpecOf(n: Network): OverlayNetworkSpec | undefined {
  if ((n.Spec.DriverConfiguration?.Name ?? 'overlay') !== 'overlay') return undefined;
  const cfg = n.IPAMOptions?.Configs?.[0];
  const vni = Number(n.DriverState?.Options?.[VXLAN_OPTION]);
  if (!cfg?.Subnet || !cfg.Gateway || !Number.isInteger(vni) || vni <= 0) return undefined;
  return {
    id: n.ID,
    name: n.Spec.Name,
    vni,
    subnet: cfg.Subnet,
    gateway: cfg.Gateway,
    ...(n.Spec.Internal ? { internal: true } : {}),
    ...(n.Spec.Attachable ? { attachable: true } : {}),
    ...(n.Spec.Ingress ? { ingress: true } : {}),
    ...(n.Spec.Labels && Object.keys(n.Spec.Labels).length ? { labels: { ...n.Spec.Labels } } : {}),
  };
}

/** The task's address on a network, if it has one. */
export function taskAddress(t: Task, networkId: string): string | undefined {
  const a = t.NetworksAttachments?.find((x) => x.Network.ID === networkId);
  return addressOf(a?.Addresses[0]);
}

/** The overlay networks a task is attached to (IDs). */
export function taskNetworkIds(t: Task): string[] {
  return (t.NetworksAttachments ?? []).map((a) => a.Network.ID);
}

/** A task occupies its address (a peer entry) from assignment until it has ended. */
function isPeer(t: Task): boolean {
  return t.NodeID !== '' && stateOrder(t.Status.State) >= stateOrder('assigned') && stateOrder(t.Status.State) <= stateOrder('running');
}

/** A task takes traffic (DNS records, VIP backend) while it runs and is meant to. */
function isBackend(t: Task): boolean {
  return t.Status.State === 'running' && stateOrder(t.DesiredState) <= stateOrder('running');
}

function push(records: Record<string, string[]>, name: string, ip: string): void {
  const k = name.toLowerCase();
  const list = (records[k] ??= []);
  if (!list.includes(ip)) list.push(ip);
}

/**
 * The view of one network: `tasks` are the tasks attached to it (any node), `services` and `nodes`
 * look up VIPs and underlay addresses. Deterministic (sorted), so views compare by JSON.
 */
export function networkView(
  network: Network,
  tasks: Iterable<Task>,
  serviceOf: (id: string) => Service | undefined,
  nodeOf: (id: string) => Node | undefined,
  /** the ingress network: every node (their own addresses on it) and every service (published ports) */
  all?: { nodes: Iterable<Node>; services: Iterable<Service> },
): NetworkView | undefined {
  const spec = overlaySpecOf(network);
  if (!spec) return undefined;
  const isIngress = network.Spec.Ingress === true;
  const peers = new Map<string, NetworkPeer>();
  const records: Record<string, string[]> = {};
  const backends = new Map<string, string[]>();
  const services = new Map<string, Service>();
  for (const t of tasks) {
    const ip = taskAddress(t, network.ID);
    if (!ip) continue;
    if (isPeer(t)) {
      const vtep = nodeOf(t.NodeID)?.Status.Addr;
      if (isIPv4(vtep)) peers.set(ip, { ip, mac: macForAddress(ip), vtep });
    }
    if (!isBackend(t)) continue;
    const svc = serviceOf(t.ServiceID);
    if (svc) services.set(svc.ID, svc);
    const name = t.ServiceAnnotations.Name;
    (backends.get(t.ServiceID) ?? backends.set(t.ServiceID, []).get(t.ServiceID)!).push(ip);
    push(records, `tasks.${name}`, ip);
    const slot = t.Slot > 0 ? String(t.Slot) : t.NodeID;
    push(records, `${name}.${slot}.${t.ID}`, ip);
  }
  const vips: NetworkView['vips'] = [];
  for (const [serviceId, ips] of backends) {
    const svc = services.get(serviceId);
    if (!svc) continue;
    const name = svc.Spec.Name;
    const aliases = (svc.Spec.TaskTemplate.Networks ?? []).filter((n) => n.Target === network.ID || n.Target === network.Spec.Name).flatMap((n) => n.Aliases ?? []);
    const vip = addressOf(svc.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === network.ID)?.Addr);
    const dnsrr = (svc.Spec.EndpointSpec?.Mode ?? 'vip') === 'dnsrr';
    const targets = dnsrr || !vip ? ips : [vip];
    if (!isIngress) for (const n of [name, ...aliases]) for (const ip of targets) push(records, n, ip);
    if (vip && !dnsrr) vips.push({ vip, backends: [...ips].sort() });
  }
  let ingress: IngressView | undefined;
  if (isIngress) {
    // no names on the ingress network (as Docker); the routing mesh instead: nodes' own addresses and published ports
    for (const k of Object.keys(records)) delete records[k];
    const nodes: IngressView['nodes'] = [];
    for (const n of all?.nodes ?? []) {
      const ip = addressOf(n.Attachments?.find((a) => a.Network.ID === network.ID)?.Addresses[0]);
      if (!ip || !isIPv4(n.Status.Addr)) continue;
      nodes.push({ ip, vtep: n.Status.Addr });
      peers.set(ip, { ip, mac: macForAddress(ip), vtep: n.Status.Addr });
    }
    const ports: IngressPortView[] = [];
    for (const s of all?.services ?? []) {
      const vip = addressOf(s.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === network.ID)?.Addr);
      if (!vip) continue;
      for (const p of s.Endpoint?.Ports ?? []) {
        if ((p.PublishMode ?? 'ingress') !== 'ingress' || !p.PublishedPort) continue;
        ports.push({ protocol: p.Protocol ?? 'tcp', publishedPort: p.PublishedPort, targetPort: p.TargetPort, vip });
      }
      // a published service with no running task: its VIP refuses (no backends)
      if (!vips.some((v) => v.vip === vip) && ports.some((p) => p.vip === vip)) vips.push({ vip, backends: [] });
    }
    nodes.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    ports.sort((a, b) => (a.protocol === b.protocol ? a.publishedPort - b.publishedPort : a.protocol < b.protocol ? -1 : 1));
    ingress = { nodes, ports };
  }
  // services with a VIP here and no running task: the name still resolves; the VIP refuses at once
  return {
    network: spec,
    peers: [...peers.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0)),
    records: Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()])),
    vips: vips.sort((a, b) => (a.vip < b.vip ? -1 : 1)),
    ...(ingress ? { ingress } : {}),
  };
}

/**
 * Network views from one store read, computed on first use and shared by every node that needs them:
 * one pass over the tasks indexes them by network, then each network's view is built once.
 */
export class NetworkViewCache {
  private byNetwork: Map<string, Task[]> | undefined;
  private readonly views = new Map<string, NetworkView | undefined>();

  constructor(private readonly tx: ReadTx) {}

  get(id: string): NetworkView | undefined {
    if (this.views.has(id)) return this.views.get(id);
    if (!this.byNetwork) {
      this.byNetwork = new Map();
      for (const t of this.tx.find('tasks')) {
        for (const n of taskNetworkIds(t)) (this.byNetwork.get(n) ?? this.byNetwork.set(n, []).get(n)!).push(t);
      }
    }
    const n = this.tx.get('networks', id);
    const all = n?.Spec.Ingress ? { nodes: this.tx.find('nodes'), services: this.tx.find('services') } : undefined;
    const v = n
      ? networkView(n, this.byNetwork.get(id) ?? [], (x) => this.tx.get('services', x), (x) => this.tx.get('nodes', x), all)
      : undefined;
    this.views.set(id, v);
    return v;
  }

  /** The view of the swarm's ingress network (every node holds it: the routing mesh), once allocated. */
  ingress(): NetworkView | undefined {
    if (this.ingressId === undefined) this.ingressId = this.tx.find('networks').find((n) => n.Spec.Ingress === true)?.ID ?? '';
    return this.ingressId ? this.get(this.ingressId) : undefined;
  }

  private ingressId: string | undefined;
}

/** How a list of addresses changed: replaced whole, or some added and some removed. */
export type ListChange = { set: string[] } | { add?: string[]; remove?: string[] };

/** The difference between two views of one network: what a node that holds `from` needs to get `to`. */
export interface NetworkViewPatch {
  id: string;
  network?: OverlayNetworkSpec;
  peersAdded?: NetworkPeer[];
  /** addresses of peers gone */
  peersRemoved?: string[];
  /** names whose addresses changed (null: the name is gone) */
  records?: Record<string, ListChange | null>;
  /** VIPs whose backends changed (null: the VIP is gone) */
  vips?: { vip: string; change: ListChange | null }[];
  /** the ingress network's routing mesh, whole, when it changed (null: gone) */
  ingress?: IngressView | null;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function listChange(from: readonly string[] | undefined, to: readonly string[]): ListChange | undefined {
  if (!from) return { set: [...to] };
  if (same(from, to)) return undefined;
  const f = new Set(from);
  const t = new Set(to);
  const add = to.filter((x) => !f.has(x));
  const remove = from.filter((x) => !t.has(x));
  if (add.length + remove.length >= to.length) return { set: [...to] };
  return { ...(add.length ? { add } : {}), ...(remove.length ? { remove } : {}) };
}

function applyList(from: readonly string[] | undefined, c: ListChange): string[] {
  if ('set' in c) return [...c.set];
  const out = new Set(from ?? []);
  for (const x of c.remove ?? []) out.delete(x);
  for (const x of c.add ?? []) out.add(x);
  return [...out].sort();
}

/** The patch from `a` to `b` (views of the same network), or null when they are equal. */
export function diffNetworkView(a: NetworkView, b: NetworkView): NetworkViewPatch | null {
  const p: NetworkViewPatch = { id: b.network.id };
  let changed = false;
  if (!same(a.network, b.network)) {
    p.network = b.network;
    changed = true;
  }
  const aPeers = new Map(a.peers.map((x) => [x.ip, x]));
  const bPeers = new Map(b.peers.map((x) => [x.ip, x]));
  const added = b.peers.filter((x) => { const o = aPeers.get(x.ip); return !o || o.mac !== x.mac || o.vtep !== x.vtep; });
  const removed = a.peers.filter((x) => !bPeers.has(x.ip)).map((x) => x.ip);
  if (added.length) p.peersAdded = added;
  if (removed.length) p.peersRemoved = removed;
  const records: Record<string, ListChange | null> = {};
  for (const [k, v] of Object.entries(b.records)) {
    const c = listChange(a.records[k], v);
    if (c) records[k] = c;
  }
  for (const k of Object.keys(a.records)) if (!(k in b.records)) records[k] = null;
  if (Object.keys(records).length) p.records = records;
  const aVips = new Map(a.vips.map((v) => [v.vip, v.backends]));
  const bVips = new Map(b.vips.map((v) => [v.vip, v.backends]));
  const vips: NonNullable<NetworkViewPatch['vips']> = [];
  for (const [vip, backends] of bVips) {
    const c = listChange(aVips.get(vip), backends);
    if (c) vips.push({ vip, change: c });
  }
  for (const vip of aVips.keys()) if (!bVips.has(vip)) vips.push({ vip, change: null });
  if (vips.length) p.vips = vips;
  if (!same(a.ingress, b.ingress)) p.ingress = b.ingress ?? null;
  changed ||= added.length > 0 || removed.length > 0 || p.records !== undefined || p.vips !== undefined || p.ingress !== undefined;
  return changed ? p : null;
}

/** `v` with patch `p` applied, in the views' canonical (sorted) form. */
export function applyNetworkPatch(v: NetworkView, p: NetworkViewPatch): NetworkView {
  const peers = new Map(v.peers.map((x) => [x.ip, x]));
  for (const ip of p.peersRemoved ?? []) peers.delete(ip);
  for (const x of p.peersAdded ?? []) peers.set(x.ip, x);
  const records: Record<string, string[]> = { ...v.records };
  for (const [k, c] of Object.entries(p.records ?? {})) {
    if (c === null) delete records[k];
    else records[k] = applyList(records[k], c);
  }
  const vips = new Map(v.vips.map((x) => [x.vip, x.backends]));
  for (const x of p.vips ?? []) {
    if (x.change === null) vips.delete(x.vip);
    else vips.set(x.vip, applyList(vips.get(x.vip), x.change));
  }
  const byKey = <T>(get: (t: T) => string) => (a: T, b: T): number => (get(a) < get(b) ? -1 : get(a) > get(b) ? 1 : 0);
  const ingress = p.ingress === undefined ? v.ingress : p.ingress ?? undefined;
  return {
    network: p.network ?? v.network,
    peers: [...peers.values()].sort(byKey((x) => x.ip)),
    records: Object.fromEntries(Object.entries(records).sort(byKey(([k]) => k))),
    vips: [...vips].map(([vip, backends]) => ({ vip, backends })).sort(byKey((x) => x.vip)),
    ...(ingress ? { ingress } : {}),
  };
}

/** Patches between view objects, computed once per pair (every node holding `from` gets the same one). */
const patchMemo = new WeakMap<NetworkView, WeakMap<NetworkView, NetworkViewPatch | null>>();

export function memoDiffNetworkView(a: NetworkView, b: NetworkView): NetworkViewPatch | null {
  let m = patchMemo.get(a);
  if (!m) patchMemo.set(a, (m = new WeakMap()));
  if (m.has(b)) return m.get(b)!;
  const p = diffNetworkView(a, b);
  m.set(b, p);
  return p;
}
