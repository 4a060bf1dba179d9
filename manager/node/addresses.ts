/**
 * Swarm addresses as Docker takes them: a listen address `host[:port]` (default 0.0.0.0:2377) and an
 * advertise address `ip[:port]` whose port defaults to the listen port. Pure functions.
 */
export const DEFAULT_SWARM_PORT = 2377;
export const DEFAULT_LISTEN_ADDR = `0.0.0.0:${DEFAULT_SWARM_PORT}`;

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host`, `host:port`, `[v6]:port`; `defaultPort` fills a missing port. */
export function parseHostPort(s: string, field: string, defaultPort?: number): HostPort {
  const v = s.trim();
  if (v === '') throw new AddressError(`${field}: empty address`);
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else {
    const i = v.lastIndexOf(':');
    if (i >= 0 && v.indexOf(':') === i) {
      host = v.slice(0, i);
      portText = v.slice(i + 1);
    } else {
      host = v;
    }
  }
  if (host === '' || /[\s/]/.test(host)) throw new AddressError(`${field}: invalid host in '${s}'`);
  let port: number;
  if (portText === undefined || portText === '') {
    if (defaultPort === undefined) throw new AddressError(`${field}: '${s}' has no port`);
    port = defaultPort;
  } else {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new AddressError(`${field}: invalid port in '${s}' (1-65535)`);
    }
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

export function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/**
 * The address other nodes dial: the advertise address (its port defaulting to the listen port), or the
 * listen address when it names a host, else `fallbackHost` (an address of this machine).
 */
export function advertiseAddress(listen: HostPort, advertise: string | undefined, fallbackHost: () => string): string {
  if (advertise !== undefined && advertise.trim() !== '') {
    const a = parseHostPort(advertise, 'AdvertiseAddr', listen.port);
    if (isUnspecified(a.host)) throw new AddressError(`AdvertiseAddr: ${advertise} is not an address other nodes can reach`);
    return formatHostPort(a);
  }
  if (!isUnspecified(listen.host)) return formatHostPort(listen);
  return formatHostPort({ host: fallbackHost(), port: listen.port });
}

/**
 * Docker also takes a network interface name for the host ("eth0", "eth0:2377"): its first IPv4
 * address. `interfaces` maps names to their IPv4 addresses (os.networkInterfaces() in the shell).
 */
export function resolveInterface(addr: string, interfaces: ReadonlyMap<string, string>): string {
  const i = addr.lastIndexOf(':');
  const host = i > 0 && addr.indexOf(':') === i ? addr.slice(0, i) : addr;
  const ip = interfaces.get(host);
  if (ip === undefined) return addr;
  return i > 0 && addr.indexOf(':') === i ? `${ip}${addr.slice(i)}` : ip;
}

export function hostOf(addr: string): string {
  try {
    return parseHostPort(addr, 'address', 0).host;
  } catch {
    return addr;
  }
}
