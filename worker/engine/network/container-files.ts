/** The /etc/hosts and /etc/resolv.conf contents a container gets, and the host's resolv.conf parsed. */

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.search = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

const LOCALHOST_LINES = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** localhost lines, then the container's own address → hostname (and name, when it differs). */
export function hostsFile(own: { ip: string | undefined; hostname: string; name: string }): string {
  const lines = [...LOCALHOST_LINES];
  if (own.ip) {
    const names = [own.hostname, own.name].filter((n, i, a) => n && a.indexOf(n) === i);
    lines.push(`${own.ip}\t${names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/** For containers on a user-defined network: the embedded DNS, the host's search domains, ndots:0. */
export function embeddedResolvConf(host: ResolvConf): string {
  const lines = ['nameserver 127.0.0.11'];
  if (host.search.length > 0) lines.push(`search ${host.search.join(' ')}`);
  lines.push('options ndots:0');
  return lines.join('\n') + '\n';
}

/**
 * For containers on the default bridge (or none): the host's resolvers minus loopback ones, which a
 * container cannot reach (Docker's rule); Google's public resolvers when nothing is left (also Docker's).
 */
export function hostResolvConf(host: ResolvConf, keepLoopback = false): string {
  let ns = keepLoopback ? host.nameservers : host.nameservers.filter((n) => !n.startsWith('127.') && n !== '::1');
  if (ns.length === 0) ns = ['8.8.8.8', '8.8.4.4'];
  const lines = ns.map((n) => `nameserver ${n}`);
  if (host.search.length > 0) lines.push(`search ${host.search.join(' ')}`);
  if (host.options.length > 0) lines.push(`options ${host.options.join(' ')}`);
  return lines.join('\n') + '\n';
}
