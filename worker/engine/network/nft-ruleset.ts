/**
 * The engine's nftables table (`ip shoal_<prefix>`), generated whole from the manager's state and
 * replaced atomically in one `nft -f` transaction, so a restart or a crash between two changes can
 * never leave half a rule set. Holds: egress masquerade per bridge subnet, published-port DNAT maps
 * (prerouting for other hosts, output for the host itself incl. 127.0.0.1), masquerade of loopback-
 * sourced and hairpin traffic into the bridges, isolation between the engine's bridges, and no
 * connection tracking of overlay traffic (bridged or VXLAN) that the host never routes.
 */
import { CommandError, type HostExec } from './exec.js';
import { VXLAN_PORT } from './overlay-links.js';

export interface NftBridge {
  name: string;
  subnet: string;
  masquerade: boolean;
  internal: boolean;
}

export interface NftPort {
  /** undefined or "0.0.0.0" = every local address */
  hostIp: string | undefined;
  proto: 'tcp' | 'udp' | 'sctp';
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export function tableName(prefix: string): string {
  return `shoal_${prefix}`;
}

export interface NftOverlay {
  bridge: string;
  subnet: string;
  /** traffic bridged in it is not tracked (the host never routes into it: not the ingress network) */
  untracked?: boolean;
}

/**
 * `overlays`: the host never routes into or out of an overlay (its traffic is bridged, and VXLAN-
 * encapsulated to other hosts), so anything routed towards an overlay subnet, or out of an overlay
 * bridge, is dropped: two overlays stay isolated even though their containers share this host.
 */
export function buildRuleset(
  table: string,
  bridgeGlob: string,
  bridges: readonly NftBridge[],
  ports: readonly NftPort[],
  overlays: readonly NftOverlay[] = [],
  /** this host's VXLAN source address: its VXLAN datagrams are not tracked either */
  vxlanLocal?: string,
): string {
  const anyElems: string[] = [];
  const addrElems: string[] = [];
  for (const p of ports) {
    const target = `${p.containerIp} . ${p.containerPort}`;
    if (!p.hostIp || p.hostIp === '0.0.0.0') anyElems.push(`${p.proto} . ${p.hostPort} : ${target}`);
    else addrElems.push(`${p.hostIp} . ${p.proto} . ${p.hostPort} : ${target}`);
  }
  const elems = (xs: string[]): string => (xs.length ? `\n    elements = { ${xs.join(', ')} }` : '');
  const dnat = [
    '    fib daddr type local dnat ip addr . port to ip daddr . meta l4proto . th dport map @pub_addr',
    '    fib daddr type local dnat ip addr . port to meta l4proto . th dport map @pub_any',
  ].join('\n');
  const post: string[] = [];
  const fwd: string[] = ['    ct status dnat accept'];
  for (const b of bridges) {
    const br = JSON.stringify(b.name);
    if (b.masquerade && !b.internal) post.push(`    ip saddr ${b.subnet} oifname != ${br} masquerade`);
    post.push(`    oifname ${br} ip saddr 127.0.0.0/8 masquerade`);
    post.push(`    oifname ${br} ct status dnat ip saddr ${b.subnet} ip daddr ${b.subnet} masquerade`);
    if (b.internal) {
      fwd.push(`    iifname ${br} oifname != ${br} drop`);
      fwd.push(`    oifname ${br} iifname != ${br} drop`);
    } else {
      fwd.push(`    iifname ${br} oifname ${JSON.stringify(bridgeGlob)} oifname != ${br} drop`);
    }
  }
  // Overlay traffic is bridged (under br_netfilter it still meets the IP hooks) or VXLAN-encapsulated:
  // connection tracking of it in the host is work for nothing (the containers' own netns track their
  // connections), so it is skipped — the ingress network excepted, whose published ports are NATed here.
  const rawPre: string[] = [];
  const rawOut: string[] = [];
  for (const o of overlays) {
    const br = JSON.stringify(o.bridge);
    fwd.push(`    ip daddr ${o.subnet} oifname != ${br} drop`);
    fwd.push(`    iifname ${br} oifname != ${br} drop`);
    if (o.untracked) rawPre.push(`    iifname ${br} notrack`);
  }
  if (vxlanLocal && overlays.length > 0) {
    rawPre.push(`    ip daddr ${vxlanLocal} udp dport ${VXLAN_PORT} notrack`);
    rawOut.push(`    ip saddr ${vxlanLocal} udp dport ${VXLAN_PORT} notrack`);
  }
  const raw = rawPre.length === 0 && rawOut.length === 0 ? '' : `
  chain raw_prerouting {
    type filter hook prerouting priority raw; policy accept;
${rawPre.join('\n')}
  }
  chain raw_output {
    type filter hook output priority raw; policy accept;
${rawOut.join('\n')}
  }`;
  return `table ip ${table} {
  map pub_any {
    type inet_proto . inet_service : ipv4_addr . inet_service;${elems(anyElems)}
  }
  map pub_addr {
    type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;${elems(addrElems)}
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
${dnat}
  }
  chain output {
    type nat hook output priority -100; policy accept;
${dnat}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
${post.join('\n')}
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
${fwd.join('\n')}
  }${raw}
}
`;
}

/** Replaces the table atomically (create-if-missing, delete, re-add in one transaction). */
export async function applyRuleset(host: HostExec, table: string, ruleset: string): Promise<void> {
  const script = `table ip ${table} {}\ndelete table ip ${table}\n${ruleset}`;
  const argv = ['nft', '-f', '-'];
  const r = await host.raw(argv, { input: script });
  if (r.code !== 0) throw new CommandError(host.argv(argv), r);
}

export async function deleteTable(host: HostExec, table: string): Promise<void> {
  const r = await host.raw(['nft', 'delete', 'table', 'ip', table]);
  if (r.code !== 0 && !/No such file|does not exist/i.test(r.stderr)) throw new CommandError(host.argv(['nft', 'delete', 'table', 'ip', table]), r);
}

export async function tableExists(host: HostExec, table: string): Promise<boolean> {
  return (await host.raw(['nft', 'list', 'table', 'ip', table])).code === 0;
}

/**
 * Coalesces rule-set applications: every `sync()` resolves after an application that started after the
 * call, and concurrent calls share one `nft` run.
 */
export class NftSync {
  private running: Promise<void> | undefined;
  private pending: Promise<void> | undefined;
  private readonly apply: () => Promise<void>;
  constructor(apply: () => Promise<void>) {
    this.apply = apply;
  }

  sync(): Promise<void> {
    if (this.pending) return this.pending;
    const prev = this.running ?? Promise.resolve();
    const next: Promise<void> = prev
      .catch(() => undefined)
      .then(() => {
        this.pending = undefined;
        this.running = next;
        return this.apply();
      })
      .finally(() => {
        if (this.running === next) this.running = undefined;
      });
    this.pending = next;
    return next;
  }
}
