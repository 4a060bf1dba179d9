/**
 * Pure parts of network creation and presentation: checking Docker's POST /networks/create body and
 * turning the persisted state into Docker's network JSON.
 */
import { badRequest, NetworkError } from './errors.js';
import { type Cidr, formatIPv4, mustParseCidr, mustParseIPv4, overlaps, formatCidr } from './ipv4.js';
import type { ContainerNetState, NetworkCreateBody, NetworkRecord, NetworkState } from './types.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function strMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v) || !Object.values(v).every((x) => typeof x === 'string')) throw badRequest(`${what} must be an object of strings`);
  return { ...(v as Record<string, string>) };
}

export interface CheckedCreate {
  name: string;
  internal: boolean;
  attachable: boolean;
  masquerade: boolean;
  mtu: number | undefined;
  subnet: Cidr | undefined;
  gateway: number | undefined;
  ipRange: Cidr | undefined;
  options: Record<string, string>;
  labels: Record<string, string>;
}

/** Checks the untrusted create body; 400 with a precise message on anything we cannot honour. */
export function checkCreateBody(body: unknown): CheckedCreate {
  if (!isObj(body)) throw badRequest('network create body must be a JSON object');
  const b = body as Partial<Record<keyof NetworkCreateBody, unknown>>;
  if (typeof b.Name !== 'string' || b.Name === '') throw badRequest('network name is required');
  if (!NAME_RE.test(b.Name)) throw badRequest(`invalid network name ${JSON.stringify(b.Name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const driver = b.Driver === undefined || b.Driver === '' ? 'bridge' : b.Driver;
  if (driver !== 'bridge') throw badRequest(`network driver ${JSON.stringify(driver)} is not supported by the local engine (only "bridge")`);
  if (b.EnableIPv6 === true) throw badRequest('IPv6 networks are not supported');
  if (b.Ingress === true) throw badRequest('ingress networks are created by the swarm, not the local engine');
  const options = strMap(b.Options, 'Options');
  const labels = strMap(b.Labels, 'Labels');
  let mtu: number | undefined;
  if (options[OPT_MTU] !== undefined) {
    mtu = Number(options[OPT_MTU]);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw badRequest(`invalid ${OPT_MTU} ${JSON.stringify(options[OPT_MTU])}`);
  }
  const masquerade = options[OPT_MASQ] !== 'false';
  let subnet: Cidr | undefined;
  let gateway: number | undefined;
  let ipRange: Cidr | undefined;
  const ipam = b.IPAM;
  if (ipam !== undefined && ipam !== null) {
    if (!isObj(ipam)) throw badRequest('IPAM must be an object');
    if (ipam.Driver !== undefined && ipam.Driver !== '' && ipam.Driver !== 'default') throw badRequest(`IPAM driver ${JSON.stringify(ipam.Driver)} is not supported`);
    const cfgs = ipam.Config ?? [];
    if (!Array.isArray(cfgs)) throw badRequest('IPAM.Config must be an array');
    if (cfgs.length > 1) throw badRequest('only one IPAM config per network is supported');
    const c: unknown = cfgs[0];
    if (c !== undefined) {
      if (!isObj(c)) throw badRequest('IPAM.Config entries must be objects');
      if (c.Subnet !== undefined && c.Subnet !== '') subnet = mustParseCidr(String(c.Subnet), 'subnet');
      if (c.Gateway !== undefined && c.Gateway !== '') gateway = mustParseIPv4(String(c.Gateway), 'gateway');
      if (c.IPRange !== undefined && c.IPRange !== '') ipRange = mustParseCidr(String(c.IPRange), 'ip-range');
      if ((gateway !== undefined || ipRange !== undefined) && subnet === undefined) throw badRequest('a gateway or ip-range needs a subnet');
    }
  }
  return { name: b.Name, internal: b.Internal === true, attachable: b.Attachable === true, masquerade, mtu, subnet, gateway, ipRange, options, labels };
}

/** 403 if `subnet` overlaps a subnet of another network (Docker's message). */
export function checkNoOverlap(subnet: Cidr, networks: Iterable<NetworkState>): void {
  for (const n of networks) {
    if (!n.subnet) continue;
    if (overlaps(subnet, mustParseCidr(n.subnet))) throw new NetworkError(403, `Pool overlaps with other one on this address space (${formatCidr(subnet)} overlaps ${n.subnet} of network ${n.name})`);
  }
}

export function firstHost(subnet: Cidr): number {
  return subnet.base + 1;
}

export function gatewayText(n: NetworkState): string {
  return n.gateway ?? '';
}

export function prefixLenOf(n: NetworkState): number {
  return n.subnet ? Number(n.subnet.split('/')[1]) : 0;
}

export function toRecord(n: NetworkState, containers: Iterable<ContainerNetState>, engineMtu: number): NetworkRecord {
  const members: NetworkRecord['Containers'] = {};
  for (const c of containers) {
    for (const ep of c.endpoints) {
      if (ep.networkId !== n.id) continue;
      members[c.containerId] = { Name: c.name.replace(/^\//, ''), EndpointID: ep.id, MacAddress: ep.mac, IPv4Address: `${ep.ip}/${prefixLenOf(n)}`, IPv6Address: '' };
    }
  }
  const options = { ...n.options };
  if (n.driver === 'bridge' && n.builtin) {
    Object.assign(options, {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      [OPT_MASQ]: 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      [OPT_BRIDGE_NAME]: n.bridge ?? '',
      [OPT_MTU]: String(n.mtu ?? engineMtu),
    });
  }
  if (n.driver === 'overlay' && n.vni !== undefined) options['com.docker.network.driver.overlay.vxlanid_list'] = String(n.vni);
  const config: NetworkRecord['IPAM']['Config'] = [];
  if (n.subnet) {
    const entry: NetworkRecord['IPAM']['Config'][number] = { Subnet: n.subnet, Gateway: n.gateway ?? '' };
    if (n.ipRange) entry.IPRange = n.ipRange;
    config.push(entry);
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: n.driver === 'overlay' ? 'swarm' : 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: config },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: n.ingress === true,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: members,
    Options: options,
    Labels: { ...n.labels },
  };
}

export { formatIPv4 };
