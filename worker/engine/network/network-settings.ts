/**
 * Docker's container-side views of an attachment: `NetworkSettings` of GET /containers/{id}/json and
 * the `Ports` list of GET /containers/json. Pure; for the container manager and the REST API.
 */
import type { Attachment } from './types.js';

export interface DockerEndpointSettings {
  IPAMConfig: null;
  Links: null;
  Aliases: string[] | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  DriverOpts: null;
}

export interface DockerNetworkSettings {
  Bridge: string;
  SandboxID: string;
  HairpinMode: boolean;
  LinkLocalIPv6Address: string;
  LinkLocalIPv6PrefixLen: number;
  Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  SandboxKey: string;
  SecondaryIPAddresses: null;
  SecondaryIPv6Addresses: null;
  EndpointID: string;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
  Networks: Record<string, DockerEndpointSettings>;
}

/**
 * `exposed` are the image/config ExposedPorts keys ("80/tcp"): listed with null when not published.
 * The top-level address fields describe the default `bridge` endpoint only, as Docker does.
 */
export function toNetworkSettings(a: Attachment | undefined, exposed: readonly string[] = []): DockerNetworkSettings {
  const ports: DockerNetworkSettings['Ports'] = {};
  for (const key of exposed) ports[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const p of a?.ports ?? []) {
    const key = `${p.containerPort}/${p.proto}`;
    (ports[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  const networks: Record<string, DockerEndpointSettings> = {};
  for (const ep of a?.endpoints ?? []) {
    networks[ep.networkName] = {
      IPAMConfig: null, Links: null, Aliases: ep.aliases.length > 0 ? [...ep.aliases] : null, NetworkID: ep.networkId, EndpointID: ep.endpointId,
      Gateway: ep.gateway, IPAddress: ep.ipAddress, IPPrefixLen: ep.prefixLen, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
      MacAddress: ep.macAddress, DriverOpts: null,
    };
  }
  const def = networks['bridge'];
  return {
    Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, Ports: ports,
    SandboxKey: a?.netnsPath ?? '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: def?.EndpointID ?? '', Gateway: def?.Gateway ?? '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: def?.IPAddress ?? '', IPPrefixLen: def?.IPPrefixLen ?? 0, IPv6Gateway: '', MacAddress: def?.MacAddress ?? '', Networks: networks,
  };
}

/** The `Ports` column of GET /containers/json: published ports, plus exposed ones without a public side. */
export function toPortList(a: Attachment | undefined, exposed: readonly string[] = []): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  const published = new Set<string>();
  for (const p of a?.ports ?? []) {
    out.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto });
    published.add(`${p.containerPort}/${p.proto}`);
  }
  for (const key of exposed) {
    const [port, proto = 'tcp'] = key.split('/');
    if (!published.has(`${port}/${proto}`)) out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}
