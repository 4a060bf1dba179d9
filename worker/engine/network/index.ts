/** The engine's single-host networking: re-exports only. */
export { NetworkManager, type NetworkManagerOptions } from './network-manager.js';
export { DEFAULT_ADDRESS_POOLS, DEFAULT_BRIDGE_SUBNET } from './network-core.js';
export { NetworkError, type NetworkErrorStatus } from './errors.js';
export { portBindingsFromDocker, type PortBindingRequest, type PublishedPort, type PortProto } from './port-allocator.js';
export type { Attachment, AttachEndpoint, AttachRequest, NetworkCreateBody, NetworkRecord } from './types.js';
export { toNetworkSettings, toPortList, type DockerNetworkSettings, type DockerEndpointSettings } from './network-settings.js';
export { VXLAN_OVERHEAD, VXLAN_PORT, type OverlayPeer } from './overlay-links.js';
export type { ServiceVip } from './vip-ruleset.js';
export type { OverlaySpec } from './types.js';
