/** Public shapes of the network manager (Docker's network JSON, attachments) and its persisted state. */
import type { PortBindingRequest, PortProto, PublishedPort } from './port-allocator.js';
import type { OverlayPeer } from './overlay-links.js';
import type { ServiceVip } from './vip-ruleset.js';

export type { PortBindingRequest, PortProto, PublishedPort, OverlayPeer, ServiceVip };

/** Docker's network object (GET /networks/{id}). */
export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local' | 'swarm';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** Docker's POST /networks/create body (the fields we honour). */
export interface NetworkCreateBody {
  Name: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; IPRange?: string; Gateway?: string }[]; Options?: Record<string, string> };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

export interface AttachEndpoint {
  networkId: string;
  networkName: string;
  endpointId: string;
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  macAddress: string;
  aliases: string[];
}

export interface Attachment {
  /** the netns the engine made for the container; undefined with newNetns unset = host network */
  netnsPath?: string;
  /** network `none`: the OCI runtime gives the container a new, empty netns of its own (lo up) */
  newNetns?: boolean;
  endpoints: AttachEndpoint[];
  /** content of /etc/hosts */
  hostsFile: string;
  /** content of /etc/resolv.conf */
  resolvConf: string;
  ports: PublishedPort[];
}

export interface AttachRequest {
  /** 'bridge' | 'default' | 'none' | 'host' | a network name or id */
  networkMode: string;
  extraNetworks?: { network: string; aliases: string[]; ipv4Address?: string }[];
  name: string;
  hostname: string;
  portBindings: PortBindingRequest[];
}

// ---- persisted state ----

export interface NetworkState {
  id: string;
  name: string;
  driver: 'bridge' | 'host' | 'null' | 'overlay';
  created: string;
  /** the default `bridge`, `host` and `none` networks */
  builtin: boolean;
  bridge?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal: boolean;
  attachable: boolean;
  masquerade: boolean;
  mtu?: number;
  options: Record<string, string>;
  labels: Record<string, string>;
  cursor?: number;
  /** overlay only: the VXLAN ID, the VXLAN device (enslaved to `bridge`), the swarm's ingress network */
  vni?: number;
  vxlan?: string;
  ingress?: boolean;
  /** overlay only: this host's underlay address the VXLAN device was made with (its source) */
  local?: string;
  /** overlay only: the remote endpoints programmed on the VXLAN device */
  peers?: OverlayPeer[];
  /** overlay only: names the swarm resolves on this network (services' VIPs, tasks.<service>, remote tasks) */
  records?: Record<string, string[]>;
  /** overlay only: service VIPs on this network and the task addresses behind each */
  vips?: ServiceVip[];
  /** the ingress overlay only: this host's own address on it ("10.0.0.5/24", on the bridge) */
  ingressAddr?: string;
  /** the ingress overlay only: the routing mesh's published ports, each to a service VIP's backends */
  ingressPorts?: IngressPortSpec[];
}

/** A port published through the routing mesh: connections to it on any host go to the backends of `vip`. */
export interface IngressPortSpec {
  proto: 'tcp' | 'udp' | 'sctp';
  publishedPort: number;
  targetPort: number;
  /** the service's VIP on the ingress network (its backends are the network's VIP backends) */
  vip: string;
}

/** What the swarm tells a node about an overlay network it needs (ID, VNI and addresses from the manager). */
export interface OverlaySpec {
  id: string;
  name: string;
  vni: number;
  subnet: string;
  gateway: string;
  attachable?: boolean;
  internal?: boolean;
  ingress?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

export interface EndpointState {
  id: string;
  networkId: string;
  ifname: string;
  hostVeth: string;
  ip: string;
  mac: string;
  aliases: string[];
}

export interface ContainerNetState {
  containerId: string;
  name: string;
  hostname: string;
  mode: 'host' | 'none' | 'netns';
  netns?: string;
  endpoints: EndpointState[];
  ports: PublishedPort[];
}

export interface PersistedNetworkState {
  version: 1;
  networks: NetworkState[];
  containers: ContainerNetState[];
}
