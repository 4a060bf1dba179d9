/**
 * The kernel side of the overlay driver (reference/runtime.md §5): per network per host an L2-only bridge
 * and a VXLAN device enslaved to it (udp/4789, no learning, ARP proxy), and static forwarding and
 * neighbour entries for every remote endpoint, so no broadcast ever crosses the underlay. The bridge has
 * no address: the host never routes into an overlay, which keeps overlays isolated from each other.
 */
import { CommandError, type HostExec } from './exec.js';
import { deleteLink, linkExists } from './bridge-links.js';

export const VXLAN_PORT = 4789;
/** VXLAN over IPv4 adds 50 bytes: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

/** A remote endpoint of an overlay: its address and MAC inside the overlay, the underlay address of its host. */
export interface OverlayPeer {
  ip: string;
  mac: string;
  vtep: string;
}

export interface OverlayLinks {
  bridge: string;
  vxlan: string;
  vni: number;
  /** this host's underlay address (the VXLAN source) */
  local: string;
  /** MTU of the bridge, the VXLAN device and every veth on it: underlay MTU − 50 */
  mtu: number;
}

/** Creates (or completes) the bridge and the VXLAN device. Idempotent. */
export async function ensureOverlayLinks(host: HostExec, o: OverlayLinks): Promise<void> {
  if (!(await linkExists(host, o.bridge))) {
    const r = await host.ipBatch([`link add ${o.bridge} mtu ${o.mtu} type bridge`]);
    if (r.code !== 0 && !/File exists/.test(r.stderr)) throw new CommandError(host.argv(['ip', 'link', 'add', o.bridge]), r);
  }
  if (!(await linkExists(host, o.vxlan))) {
    const argv = ['ip', 'link', 'add', o.vxlan, 'mtu', String(o.mtu), 'type', 'vxlan', 'id', String(o.vni), 'dstport', String(VXLAN_PORT),
      'local', o.local, 'nolearning', 'proxy'];
    const r = await host.raw(argv);
    if (r.code !== 0 && !/File exists/.test(r.stderr)) {
      if (/exists/i.test(r.stderr) || /vni/i.test(r.stderr)) throw new CommandError(host.argv(argv), { ...r, stderr: `${r.stderr.trim()} (is VNI ${o.vni} already used by another device in this namespace?)` });
      throw new CommandError(host.argv(argv), r);
    }
  }
  const r = await host.ipBatch([
    `link set dev ${o.bridge} mtu ${o.mtu} up`,
    `link set dev ${o.vxlan} master ${o.bridge}`,
    `link set dev ${o.vxlan} mtu ${o.mtu} up`,
  ]);
  if (r.code !== 0) throw new CommandError(host.argv(['ip', '-batch', '-']), r);
}

export async function deleteOverlayLinks(host: HostExec, o: Pick<OverlayLinks, 'bridge' | 'vxlan'>): Promise<void> {
  await deleteLink(host, o.vxlan);
  await deleteLink(host, o.bridge);
}

const key = (p: OverlayPeer): string => `${p.ip}|${p.mac.toLowerCase()}|${p.vtep}`;

/** The `ip -batch` and `bridge -batch` lines that turn the programmed set `from` into `to`. */
export function peerDiff(vxlan: string, from: readonly OverlayPeer[], to: readonly OverlayPeer[]): { ip: string[]; bridge: string[] } {
  const want = new Map(to.map((p) => [key(p), p]));
  const have = new Map(from.map((p) => [key(p), p]));
  const ip: string[] = [];
  const bridge: string[] = [];
  const keptMacs = new Set(to.map((p) => p.mac.toLowerCase()));
  const keptIps = new Set(to.map((p) => p.ip));
  for (const [k, p] of have) {
    if (want.has(k)) continue;
    if (!keptIps.has(p.ip)) ip.push(`neigh del ${p.ip} dev ${vxlan}`);
    if (!keptMacs.has(p.mac.toLowerCase())) bridge.push(`fdb del ${p.mac} dev ${vxlan} self`);
  }
  for (const [k, p] of want) {
    if (have.has(k)) continue;
    ip.push(`neigh replace ${p.ip} lladdr ${p.mac} dev ${vxlan} nud permanent`);
    bridge.push(`fdb replace ${p.mac} dev ${vxlan} dst ${p.vtep} self permanent`);
  }
  return { ip, bridge };
}

/**
 * Programs the VXLAN device so that exactly `to` is reachable (entries of `from` that are gone are
 * removed). With `force`, every entry of `to` is written again (restore after a restart).
 */
export async function programPeers(host: HostExec, vxlan: string, from: readonly OverlayPeer[], to: readonly OverlayPeer[], force = false): Promise<void> {
  const d = peerDiff(vxlan, force ? [] : from, to);
  if (force) {
    const stale = peerDiff(vxlan, from, to);
    d.ip.unshift(...stale.ip.filter((l) => l.startsWith('neigh del')));
    d.bridge.unshift(...stale.bridge.filter((l) => l.startsWith('fdb del')));
  }
  // deletions of entries that are already gone are not errors: -force keeps going, then we check the adds
  if (d.ip.length > 0) {
    const r = await host.ipBatch(d.ip, { force: true });
    if (r.code !== 0 && d.ip.some((l) => !l.startsWith('neigh del'))) await checkAdds(host, ['ip'], d.ip.filter((l) => !l.startsWith('neigh del')));
  }
  if (d.bridge.length > 0) {
    const r = await host.raw(['bridge', '-force', '-batch', '-'], { input: d.bridge.join('\n') + '\n' });
    if (r.code !== 0 && d.bridge.some((l) => !l.startsWith('fdb del'))) await checkAdds(host, ['bridge'], d.bridge.filter((l) => !l.startsWith('fdb del')));
  }
}

async function checkAdds(host: HostExec, tool: string[], lines: string[]): Promise<void> {
  const argv = [...tool, '-batch', '-'];
  const r = await host.raw(argv, { input: lines.join('\n') + '\n' });
  if (r.code !== 0) throw new CommandError(host.argv(argv), r);
}
