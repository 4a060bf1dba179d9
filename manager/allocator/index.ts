/** The allocator's pure parts: re-exports only. */
export { PortAllocator, DYNAMIC_PORT_RANGE, type PortConfig, type PortProtocol, type PortRange } from './port-allocator.js';
export { NetworkAllocator, DEFAULT_OVERLAY_POOLS, VNI_START, VNI_END, type NetworkAllocation, type NetworkRequest } from './network-allocator.js';
export { defaultIngressSpec, isIngressNetwork, needsIngress, INGRESS_NAME, INGRESS_SUBNET, INGRESS_GATEWAY } from './ingress.js';
