/**
 * Service VIPs without IPVS (this kernel has none, reference/runtime.md §6): in every container netns that
 * is on an overlay, one nftables table whose output-hook DNAT spreads new connections to a VIP over the
 * service's task addresses (`numgen random`), and conntrack keeps each connection on its backend. A VIP
 * with no backend is refused at once (ICMP unreachable) instead of timing out.
 */
import { CommandError, HostExec } from './exec.js';

export const VIP_TABLE = 'shoal_vip';

export interface ServiceVip {
  vip: string;
  backends: string[];
}

export function buildVipRuleset(vips: readonly ServiceVip[]): string {
  const nat: string[] = [];
  const filter: string[] = [];
  const sorted = [...vips].sort((a, b) => (a.vip < b.vip ? -1 : a.vip > b.vip ? 1 : 0));
  for (const v of sorted) {
    const backends = [...new Set(v.backends)].sort();
    if (backends.length === 0) {
      filter.push(`    ip daddr ${v.vip} reject with icmp type host-unreachable`);
    } else if (backends.length === 1) {
      nat.push(`    ip daddr ${v.vip} dnat to ${backends[0]}`);
    } else {
      const map = backends.map((b, i) => `${i} : ${b}`).join(', ');
      nat.push(`    ip daddr ${v.vip} dnat to numgen random mod ${backends.length} map { ${map} }`);
    }
  }
  return `table ip ${VIP_TABLE} {
  chain output {
    type nat hook output priority -100; policy accept;
${nat.join('\n')}
  }
  chain filter_output {
    type filter hook output priority filter; policy accept;
${filter.join('\n')}
  }
}
`;
}

/** Replaces the VIP table inside the container netns at `netnsPath` in one transaction (removes it when `vips` is empty). */
export async function applyVipRuleset(netnsPath: string, vips: readonly ServiceVip[]): Promise<void> {
  const ns = new HostExec(netnsPath);
  const script = vips.length === 0
    ? `table ip ${VIP_TABLE} {}\ndelete table ip ${VIP_TABLE}\n`
    : `table ip ${VIP_TABLE} {}\ndelete table ip ${VIP_TABLE}\n${buildVipRuleset(vips)}`;
  const argv = ['nft', '-f', '-'];
  const r = await ns.raw(argv, { input: script });
  if (r.code !== 0) throw new CommandError(ns.argv(argv), r);
}
