/**
 * The routing mesh on one host, without IPVS (this kernel has none): a port a service publishes in
 * ingress mode answers on every host. The host holds an address of its own on the swarm's ingress
 * overlay (its bridge); a connection to a published port on any local address is DNATed to one of the
 * service's task addresses on the ingress network (`numgen random`, conntrack keeps it there) — local
 * or on another host across the VXLAN — and masqueraded to the host's ingress address, so the reply
 * comes back through this host. A published port with no task refuses at once (TCP reset).
 *
 * One nftables table of its own (`ip shoal_<prefix>_ingress`), replaced whole in one transaction.
 * Its forward chain also keeps everything else from being routed into or out of the ingress network
 * (traffic bridged inside it, seen by the forward hook under br_netfilter, passes).
 */
import { CommandError, type HostExec } from './exec.js';

export type IngressProto = 'tcp' | 'udp' | 'sctp';

/** A published port of the routing mesh and the task addresses behind it. */
export interface IngressRule {
  proto: IngressProto;
  publishedPort: number;
  targetPort: number;
  backends: readonly string[];
}

export function ingressTableName(prefix: string): string {
  return `shoal_${prefix}_ingress`;
}

/** The table for the ingress bridge `bridge` and `rules` (deterministic: sorted by protocol and port). */
export function buildIngressRuleset(table: string, bridge: string, rules: readonly IngressRule[]): string {
  const dnat: string[] = [];
  const refuse: string[] = [];
  const sorted = [...rules].sort((a, b) => (a.proto === b.proto ? a.publishedPort - b.publishedPort : a.proto < b.proto ? -1 : 1));
  for (const r of sorted) {
    const backends = [...new Set(r.backends)].sort();
    const match = `fib daddr type local ${r.proto} dport ${r.publishedPort}`;
    if (backends.length === 0) {
      refuse.push(`    ${r.proto} dport ${r.publishedPort} ${r.proto === 'tcp' ? 'reject with tcp reset' : 'reject'}`);
    } else if (backends.length === 1) {
      dnat.push(`    ${match} dnat to ${backends[0]}:${r.targetPort}`);
    } else {
      const map = backends.map((b, i) => `${i} : ${b}`).join(', ');
      dnat.push(`    ${match} dnat to numgen random mod ${backends.length} map { ${map} }:${r.targetPort}`);
    }
  }
  const br = JSON.stringify(bridge);
  return `table ip ${table} {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
${dnat.join('\n')}
  }
  chain output {
    type nat hook output priority -100; policy accept;
${dnat.join('\n')}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname ${br} ct status dnat masquerade
  }
  chain input {
    type filter hook input priority filter; policy accept;
${refuse.join('\n')}
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    oifname ${br} ct status dnat accept
    iifname ${br} ct status dnat accept
    iifname != ${br} oifname ${br} drop
    iifname ${br} oifname != ${br} drop
  }
}
`;
}

/** Replaces the table atomically (create-if-missing, delete, re-add in one transaction). */
export async function applyIngressRuleset(host: HostExec, table: string, ruleset: string): Promise<void> {
  const script = `table ip ${table} {}\ndelete table ip ${table}\n${ruleset}`;
  const argv = ['nft', '-f', '-'];
  const r = await host.raw(argv, { input: script });
  if (r.code !== 0) throw new CommandError(host.argv(argv), r);
}

/** Gives the ingress bridge the host's ingress address and the MAC the swarm's peers use for it (02:42 + address). */
export async function setIngressAddress(host: HostExec, bridge: string, from: string | undefined, to: string, mac: string): Promise<void> {
  if (from && from !== to) await host.ipBatch([`addr del ${from} dev ${bridge}`], { force: true });
  const r = await host.ipBatch([`link set dev ${bridge} address ${mac}`, `addr replace ${to} dev ${bridge}`]);
  if (r.code !== 0) throw new CommandError(host.argv(['ip', '-batch', '-']), r);
}
