/**
 * Swarm-scoped networks REST in Docker's shapes, served by the control app over the store:
 * POST /networks/create (Driver overlay; Attachable, Internal, Labels, IPAM config checked; duplicate
 * names 409; `--opt encrypted` refused: this kernel has no ESP), GET /networks (filters driver, id,
 * label, name, scope, type, dangling), GET /networks/{id|name|prefix} (?verbose adds Services; Peers are
 * the nodes with live tasks on it), DELETE /networks/{id} (refused while a service or a live task uses
 * it, with SwarmKit's message), POST /networks/prune (unused swarm networks, ingress kept). The engine side (network-gateway.ts) merges these with the node's local
 * networks, as dockerd does on a manager.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { generateId, isStoreError, type Network, type ReadTx, type ReplicatedStore, type Service, type Task } from '../store/index.js';
import { contains, formatCidr, overlaps, parseCidr, parseIPv4, type Cidr } from '../../worker/engine/network/ipv4.js';
import { isIngressNetwork, needsIngress } from '../allocator/ingress.js';
import { stateOrder } from '../orchestrator/task-state.js';
import { errorReply, HttpError, parseFilters } from './service-routes.js';
import { PREDEFINED_NETWORKS } from './service-networks.js';

export interface NetworkRoutesDeps {
  store: ReplicatedStore;
}

export const VXLAN_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PREDEFINED = PREDEFINED_NETWORKS;
const LIST_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function strMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) throw new HttpError(400, `${field}: must be an object of strings`);
  return { ...(v as Record<string, string>) };
}

/** The IPAM config of a checked create body. */
export interface CheckedIpam {
  Subnet: string;
  Gateway?: string;
  IPRange?: string;
}

export interface CheckedNetworkCreate {
  Name: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ipam: CheckedIpam | undefined;
}

function cidrOf(text: unknown, field: string): Cidr {
  const c = typeof text === 'string' ? parseCidr(text) : undefined;
  if (!c) throw new HttpError(400, `${field}: invalid IPv4 subnet ${JSON.stringify(text)} (expected a.b.c.d/len)`);
  if (c.prefixLen > 29 || c.prefixLen < 8) throw new HttpError(400, `${field}: ${formatCidr(c)} must be between /8 and /29 (room for a gateway, a VIP and tasks)`);
  return c;
}

/**
 * Checks Docker's POST /networks/create body for a swarm network (SwarmKit's validateNetworkSpec plus
 * what this swarm cannot do). Throws HttpError 400/403 naming the field.
 */
export function checkSwarmNetworkCreate(body: unknown): CheckedNetworkCreate {
  if (!isObj(body)) throw new HttpError(400, 'request body: a network create object is required');
  const name = body.Name;
  if (typeof name !== 'string' || name === '') throw new HttpError(400, 'Name: a network name is required');
  if (name.length > 64 || !NAME_RE.test(name)) throw new HttpError(400, `Name: invalid network name ${JSON.stringify(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most 64 characters`);
  if (PREDEFINED.has(name)) throw new HttpError(403, `operation is not permitted on predefined ${name} network `);
  const driver = body.Driver === undefined || body.Driver === '' ? 'overlay' : body.Driver;
  if (driver !== 'overlay') throw new HttpError(400, `Driver: ${JSON.stringify(driver)} cannot make a swarm-scoped network (only "overlay")`);
  if (body.Scope !== undefined && body.Scope !== '' && body.Scope !== 'swarm') throw new HttpError(400, `Scope: an overlay network is swarm-scoped, not ${JSON.stringify(body.Scope)}`);
  if (body.EnableIPv6 === true) throw new HttpError(400, 'EnableIPv6: IPv6 overlay networks are not supported');
  if (body.ConfigOnly === true) throw new HttpError(400, 'ConfigOnly: config-only networks are not supported');
  if (isObj(body.ConfigFrom) && typeof body.ConfigFrom.Network === 'string' && body.ConfigFrom.Network !== '') throw new HttpError(400, 'ConfigFrom: networks made from a config-only network are not supported');
  const options = strMap(body.Options, 'Options');
  if ('encrypted' in options) {
    throw new HttpError(400, 'Options.encrypted: encrypted overlay networks need IPsec (ESP), which this kernel does not have (CONFIG_INET_ESP is not set); create the network without --opt encrypted');
  }
  if (VXLAN_OPTION in options) throw new HttpError(400, `Options.${VXLAN_OPTION}: VXLAN IDs are given by the swarm's allocator`);
  const labels = strMap(body.Labels, 'Labels');
  const ingress = body.Ingress === true;
  const attachable = body.Attachable === true;
  if (ingress && attachable) throw new HttpError(400, 'rpc error: code = InvalidArgument desc = ingress network cannot be attachable');
  let ipam: CheckedIpam | undefined;
  if (body.IPAM !== undefined && body.IPAM !== null) {
    if (!isObj(body.IPAM)) throw new HttpError(400, 'IPAM: must be an object');
    const d = body.IPAM.Driver;
    if (d !== undefined && d !== '' && d !== 'default') throw new HttpError(400, `IPAM.Driver: ${JSON.stringify(d)} is not supported (only "default")`);
    const cfgs = body.IPAM.Config ?? [];
    if (!Array.isArray(cfgs)) throw new HttpError(400, 'IPAM.Config: must be an array');
    if (cfgs.length > 1) throw new HttpError(400, 'IPAM.Config: one subnet per overlay network is supported');
    const c: unknown = cfgs[0];
    if (c !== undefined) {
      if (!isObj(c)) throw new HttpError(400, 'IPAM.Config[0]: must be an object');
      const hasSubnet = typeof c.Subnet === 'string' && c.Subnet !== '';
      const gw = typeof c.Gateway === 'string' && c.Gateway !== '' ? c.Gateway : undefined;
      const range = typeof c.IPRange === 'string' && c.IPRange !== '' ? c.IPRange : undefined;
      if (!hasSubnet) {
        if (gw || range) throw new HttpError(400, 'IPAM.Config[0]: a gateway or ip-range needs a subnet');
      } else {
        const subnet = cidrOf(c.Subnet, 'IPAM.Config[0].Subnet');
        ipam = { Subnet: formatCidr(subnet) };
        if (gw !== undefined) {
          const g = parseIPv4(gw);
          if (g === undefined) throw new HttpError(400, `IPAM.Config[0].Gateway: invalid IPv4 address ${JSON.stringify(gw)}`);
          if (!contains(subnet, g) || g === subnet.base) throw new HttpError(400, `IPAM.Config[0].Gateway: subnet ${formatCidr(subnet)} does not contain gateway ${gw}`);
          ipam.Gateway = gw;
        }
        if (range !== undefined) {
          const r = cidrOf(range, 'IPAM.Config[0].IPRange');
          if (!contains(subnet, r.base) || r.prefixLen < subnet.prefixLen) throw new HttpError(400, `IPAM.Config[0].IPRange: subnet ${formatCidr(subnet)} does not contain range ${range}`);
          ipam.IPRange = formatCidr(r);
        }
      }
    }
  }
  return { Name: name, Labels: labels, Options: options, Internal: body.Internal === true, Attachable: attachable, Ingress: ingress, ipam };
}

/** The subnet a network has: its allocation, else the one its spec asks for. */
export function subnetOf(n: Network): string | undefined {
  return n.IPAMOptions?.Configs?.[0]?.Subnet ?? n.Spec.IPAMOptions?.Configs?.[0]?.Subnet;
}


/** The store's ingress network, if there is one. */
export function ingressNetwork(tx: ReadTx): Network | undefined {
  return tx.find('networks').find(isIngressNetwork);
}

/** Whether a service's spec refers to network `n` (targets are IDs, or names as stacks write them). */
export function serviceUsesNetwork(s: Service, n: Network): boolean {
  return (s.Spec.TaskTemplate.Networks ?? []).some((t) => t.Target === n.ID || t.Target === n.Spec.Name);
}


const live = (t: Task): boolean => stateOrder(t.DesiredState) <= stateOrder('running') && stateOrder(t.Status.State) <= stateOrder('running');

function tasksOn(tx: ReadTx, n: Network): Task[] {
  return tx.find('tasks').filter((t) => (t.NetworksAttachments ?? []).some((a) => a.Network.ID === n.ID));
}

/** Docker's NetworkResource of a swarm network (moby's BasicNetworkFromGRPC), with Peers and optionally Services. */
export function renderSwarmNetwork(tx: ReadTx, n: Network, o: { verbose?: boolean; peers?: boolean } = {}): Record<string, unknown> {
  const cfg = n.IPAMOptions?.Configs ?? n.Spec.IPAMOptions?.Configs ?? [];
  const out: Record<string, unknown> = {
    Name: n.Spec.Name,
    Id: n.ID,
    Created: n.Meta.CreatedAt,
    Scope: 'swarm',
    Driver: n.DriverState?.Name ?? n.Spec.DriverConfiguration?.Name ?? 'overlay',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: cfg.map((c) => ({ Subnet: c.Subnet, ...(c.Gateway ? { Gateway: c.Gateway } : {}), ...(c.IPRange ? { IPRange: c.IPRange } : {}) })) },
    Internal: n.Spec.Internal === true,
    Attachable: n.Spec.Attachable === true,
    Ingress: n.Spec.Ingress === true,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: null,
    Options: { ...(n.Spec.DriverConfiguration?.Options ?? {}), ...(n.DriverState?.Options ?? {}) },
    Labels: { ...(n.Spec.Labels ?? {}) },
  };
  if (o.peers === false && !o.verbose) return out;
  const tasks = tasksOn(tx, n).filter((t) => live(t) && t.NodeID !== '');
  const nodes = new Map(tx.find('nodes').map((x) => [x.ID, x]));
  const peerNodes = new Set(tasks.map((t) => t.NodeID));
  if (isIngressNetwork(n)) for (const x of nodes.values()) if ((x.Attachments ?? []).some((a) => a.Network.ID === n.ID)) peerNodes.add(x.ID);
  const peers = [...peerNodes].map((id) => nodes.get(id)).filter((x) => x !== undefined).map((x) => ({ Name: x.Description.Hostname || x.ID, IP: x.Status.Addr }));
  if (peers.length > 0) out.Peers = peers.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  if (o.verbose) {
    const services: Record<string, unknown> = {};
    for (const s of tx.find('services')) {
      const mine = tasks.filter((t) => t.ServiceID === s.ID);
      const vip = s.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === n.ID)?.Addr;
      if (mine.length === 0 && !vip) continue;
      services[s.Spec.Name] = {
        VIP: vip?.split('/')[0] ?? '',
        Ports: (s.Endpoint?.Ports ?? []).map((p) => `Target: ${p.TargetPort}, Publish: ${p.PublishedPort ?? 0}`),
        LocalLBIndex: 0,
        Tasks: mine.map((t) => ({
          Name: `${t.ServiceAnnotations.Name}.${t.Slot > 0 ? t.Slot : t.NodeID}.${t.ID}`,
          EndpointID: '',
          EndpointIP: t.NetworksAttachments?.find((a) => a.Network.ID === n.ID)?.Addresses[0]?.split('/')[0] ?? '',
          Info: { 'Host IP': nodes.get(t.NodeID)?.Status.Addr ?? '' },
        })),
      };
    }
    out.Services = services;
  }
  return out;
}

function lookupNetwork(tx: ReadTx, ref: string): Network {
  try {
    return tx.lookup('networks', ref);
  } catch (e) {
    if (isStoreError(e, 'not-found')) throw new HttpError(404, `network ${ref} not found`);
    if (isStoreError(e, 'ambiguous')) throw new HttpError(400, `network ${ref} is ambiguous (more than one network matches this ID prefix)`);
    throw e;
  }
}

/** Whether a swarm network passes GET /networks filters (the same keys as the engine's list). */
export function networkMatches(n: Network, f: Map<string, string[]>, inUse: boolean): boolean {
  const any = (k: string, test: (v: string) => boolean): boolean => {
    const vs = f.get(k);
    return !vs || vs.length === 0 || vs.some(test);
  };
  const labels = n.Spec.Labels ?? {};
  return (
    any('id', (v) => n.ID.startsWith(v)) &&
    any('name', (v) => n.Spec.Name.includes(v)) &&
    any('driver', (v) => (n.Spec.DriverConfiguration?.Name ?? 'overlay') === v) &&
    any('scope', (v) => v === 'swarm') &&
    any('type', (v) => v === 'custom') &&
    any('dangling', (v) => (v === 'true' || v === '1') === !inUse) &&
    (f.get('label') ?? []).every((l) => {
      const i = l.indexOf('=');
      return i < 0 ? l in labels : labels[l.slice(0, i)] === l.slice(i + 1);
    })
  );
}

const truthy = (v: unknown): boolean => v === '1' || v === 'true' || v === 'True';

export function networkRoutes(deps: NetworkRoutesDeps): FastifyPluginAsync {
  const { store } = deps;
  return async (app) => {
    app.post('/networks/create', async (req, reply) => {
      try {
        const c = checkSwarmNetworkCreate(req.body);
        const id = generateId((n) => randomBytes(n));
        await store.update((tx) => {
          const nets = tx.find('networks');
          if (nets.some((n) => n.Spec.Name === c.Name)) throw new HttpError(409, `network with name ${c.Name} already exists`);
          if (c.Ingress) {
            const have = nets.find(isIngressNetwork);
            if (have) throw new HttpError(409, `rpc error: code = AlreadyExists desc = ingress network (${have.ID}) is already present`);
          }
          if (c.ipam) {
            const want = parseCidr(c.ipam.Subnet)!;
            for (const n of nets) {
              const s = subnetOf(n);
              const have = s ? parseCidr(s) : undefined;
              if (have && overlaps(want, have)) throw new HttpError(403, `invalid pool request: Pool overlaps with other one on this address space (${c.ipam.Subnet} overlaps ${s} of network ${n.Spec.Name})`);
            }
          }
          tx.create('networks', {
            ID: id,
            Spec: {
              Name: c.Name,
              Labels: c.Labels,
              DriverConfiguration: { Name: 'overlay', ...(Object.keys(c.Options).length ? { Options: c.Options } : {}) },
              ...(c.ipam ? { IPAMOptions: { Driver: { Name: 'default' }, Configs: [c.ipam] } } : {}),
              Internal: c.Internal,
              Attachable: c.Attachable,
              ...(c.Ingress ? { Ingress: true } : {}),
              Scope: 'swarm',
            },
          } as Network);
        });
        return reply.status(201).send({ Id: id, Warning: '' });
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.get('/networks', async (req, reply) => {
      try {
        const q = req.query as Record<string, string | undefined>;
        const f = parseFilters(q.filters, LIST_FILTERS);
        const out = store.view((tx) => {
          const services = tx.find('services');
          return tx.find('networks')
            .filter((n) => networkMatches(n, f, services.some((s) => serviceUsesNetwork(s, n)) || tasksOn(tx, n).some(live)))
            .map((n) => renderSwarmNetwork(tx, n, { peers: false }));
        });
        return reply.send(out);
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.get('/networks/:id', async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        const q = req.query as Record<string, string | undefined>;
        if (q.scope !== undefined && q.scope !== '' && q.scope !== 'swarm') throw new HttpError(404, `network ${id} not found`);
        return reply.send(store.view((tx) => renderSwarmNetwork(tx, lookupNetwork(tx, id), { verbose: truthy(q.verbose) })));
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    // POST /networks/prune: swarm networks no service and no live task uses (never ingress), as dockerd does on a manager
    app.post('/networks/prune', async (req, reply) => {
      try {
        const q = req.query as Record<string, string | undefined>;
        const f = parseFilters(q.filters, ['label', 'label!', 'until']);
        const until = f.get('until')?.[0];
        const before = until === undefined ? undefined : /^\d+(\.\d+)?$/.test(until) ? Number(until) * 1000 : Date.parse(until);
        if (before !== undefined && Number.isNaN(before)) throw new HttpError(400, `filters: until ${JSON.stringify(until)} is not a timestamp`);
        const deleted: string[] = [];
        await store.update((tx) => {
          const services = tx.find('services');
          for (const n of tx.find('networks')) {
            if (isIngressNetwork(n) || services.some((s) => serviceUsesNetwork(s, n)) || tasksOn(tx, n).some(live)) continue;
            const labels = n.Spec.Labels ?? {};
            const has = (l: string): boolean => {
              const i = l.indexOf('=');
              return i < 0 ? l in labels : labels[l.slice(0, i)] === l.slice(i + 1);
            };
            if (!(f.get('label') ?? []).every(has) || (f.get('label!') ?? []).some(has)) continue;
            if (before !== undefined && Date.parse(n.Meta.CreatedAt) >= before) continue;
            tx.delete('networks', n.ID);
            deleted.push(n.Spec.Name);
          }
        });
        return reply.send({ NetworksDeleted: deleted });
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.delete('/networks/:id', async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        await store.update((tx) => {
          const n = lookupNetwork(tx, id);
          const services = tx.find('services');
          if (isIngressNetwork(n)) {
            const s = services.find((x) => needsIngress(x.Spec));
            if (s) throw new HttpError(400, `rpc error: code = FailedPrecondition desc = ingress network cannot be removed because service ${s.ID} depends on it`);
          } else {
            const s = services.find((x) => serviceUsesNetwork(x, n));
            if (s) throw new HttpError(400, `rpc error: code = FailedPrecondition desc = network ${n.ID} is in use by service ${s.ID}`);
          }
          const t = tasksOn(tx, n).find(live);
          if (t) throw new HttpError(400, `rpc error: code = FailedPrecondition desc = network ${n.ID} is in use by task ${t.ID}`);
          tx.delete('networks', n.ID);
        });
        return reply.status(204).send();
      } catch (e) {
        return errorReply(reply, e);
      }
    });
  };
}
