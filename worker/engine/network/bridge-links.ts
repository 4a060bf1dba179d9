/**
 * The kernel side of the bridge driver, through iproute2 and sysctl: bridges with their gateway address,
 * container network namespaces, veth pairs whose peer is created directly inside the container netns.
 * Every operation is idempotent where that makes sense (restore after a daemon restart, cleanup).
 */
import { access } from 'node:fs/promises';
import { CommandError, type HostExec } from './exec.js';

export const NETNS_DIR = '/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export async function netnsExists(name: string): Promise<boolean> {
  try {
    await access(netnsPath(name));
    return true;
  } catch {
    return false;
  }
}

function isMissing(e: unknown): boolean {
  return e instanceof CommandError && /Cannot find device|No such file|does not exist|not found/i.test(e.result.stderr);
}

/** Creates (or completes) a bridge with `gatewayCidr` on it, MTU set, up, forwarding and route_localnet on. */
export async function ensureBridge(host: HostExec, name: string, gatewayCidr: string, mtu: number): Promise<void> {
  const exists = (await host.raw(['ip', 'link', 'show', 'dev', name])).code === 0;
  if (!exists) {
    const r = await host.ipBatch([`link add ${name} mtu ${mtu} type bridge`]);
    if (r.code !== 0 && !/File exists/.test(r.stderr)) throw new CommandError(host.argv(['ip', 'link', 'add', name]), r);
  }
  await host.run(['ip', 'addr', 'replace', gatewayCidr, 'dev', name]);
  await host.run(['ip', 'link', 'set', 'dev', name, 'mtu', String(mtu), 'up']);
  await host.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', `net.ipv4.conf.${name}.route_localnet=1`]);
}

export async function deleteLink(host: HostExec, name: string): Promise<void> {
  try {
    await host.run(['ip', 'link', 'del', 'dev', name]);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

export async function linkExists(host: HostExec, name: string): Promise<boolean> {
  return (await host.raw(['ip', 'link', 'show', 'dev', name])).code === 0;
}

/** Names of links in the host netns starting with `prefix` (for cleanup). */
export async function listLinks(host: HostExec, prefix: string): Promise<string[]> {
  const out = await host.run(['ip', '-j', 'link', 'show']);
  const parsed: unknown = JSON.parse(out || '[]');
  if (!Array.isArray(parsed)) return [];
  const names: string[] = [];
  for (const l of parsed) {
    if (typeof l === 'object' && l !== null && typeof (l as { ifname?: unknown }).ifname === 'string') {
      const n = (l as { ifname: string }).ifname;
      if (n.startsWith(prefix)) names.push(n);
    }
  }
  return names;
}

/** A fresh netns, lo up unless the caller brings it up with its first link (plugVeth's loUp). A stale one of the same name is replaced. */
export async function createNetns(host: HostExec, name: string, o: { loUp?: boolean } = {}): Promise<string> {
  if (await netnsExists(name)) await deleteNetns(host, name);
  await host.run(['ip', 'netns', 'add', name]);
  if (o.loUp !== false) await host.run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  return netnsPath(name);
}

export async function deleteNetns(host: HostExec, name: string): Promise<void> {
  if (!(await netnsExists(name))) return;
  try {
    await host.run(['ip', 'netns', 'del', name]);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

export interface VethSpec {
  netns: string;
  hostVeth: string;
  bridge: string;
  ifname: string;
  mac: string;
  addressCidr: string;
  gateway: string | undefined;
  mtu: number;
  /** also bring up lo in the container netns (createNetns left it down) */
  loUp?: boolean;
}

/**
 * Creates the pair with its peer inside the container netns, enslaves the host side (hairpin on), configures
 * the peer: two `ip -batch` runs, one per namespace.
 */
export async function plugVeth(host: HostExec, v: VethSpec): Promise<void> {
  try {
    const hr = await host.ipBatch([
      `link add ${v.hostVeth} mtu ${v.mtu} type veth peer name ${v.ifname} mtu ${v.mtu} address ${v.mac} netns ${v.netns}`,
      `link set dev ${v.hostVeth} master ${v.bridge}`,
      `link set dev ${v.hostVeth} type bridge_slave hairpin on`,
      `link set dev ${v.hostVeth} up`,
    ]);
    if (hr.code !== 0) throw new CommandError(host.argv(['ip', '-batch', '-']), hr);
    const lines = [...(v.loUp ? ['link set dev lo up'] : []), `addr add ${v.addressCidr} dev ${v.ifname}`, `link set dev ${v.ifname} up`];
    if (v.gateway) lines.push(`route replace default via ${v.gateway} dev ${v.ifname}`);
    const cr = await host.ipBatch(lines, { netns: v.netns });
    if (cr.code !== 0) throw new CommandError(host.argv(['ip', '-n', v.netns, '-batch', '-']), cr);
  } catch (e) {
    await deleteLink(host, v.hostVeth).catch(() => undefined);
    throw e;
  }
}

/** MTU of the interface holding the default route, or 1500. */
export async function defaultRouteMtu(host: HostExec): Promise<number> {
  try {
    const routes: unknown = JSON.parse((await host.run(['ip', '-j', 'route', 'show', 'default'])) || '[]');
    const dev = Array.isArray(routes) ? (routes[0] as { dev?: unknown } | undefined)?.dev : undefined;
    if (typeof dev !== 'string') return 1500;
    const links: unknown = JSON.parse((await host.run(['ip', '-j', 'link', 'show', 'dev', dev])) || '[]');
    const mtu = Array.isArray(links) ? (links[0] as { mtu?: unknown } | undefined)?.mtu : undefined;
    return typeof mtu === 'number' && mtu >= 576 ? mtu : 1500;
  } catch {
    return 1500;
  }
}
