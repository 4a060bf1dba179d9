/**
 * The swarm's ingress network (the routing mesh): created once, when the swarm starts, as SwarmKit does
 * (`ingress`, overlay, 10.0.0.0/24); a service that publishes a port in ingress mode (endpoint mode
 * vip) gets a VIP on it and its tasks an address on it, and every node an address of its own there
 * (Node.Attachments), from which it forwards published ports to the tasks. Pure.
 */
import type { Network, NetworkSpec, ServiceSpec } from '../store/index.js';

export const INGRESS_NAME = 'ingress';
export const INGRESS_SUBNET = '10.0.0.0/24';
export const INGRESS_GATEWAY = '10.0.0.1';

/** The spec of the default ingress network. */
export function defaultIngressSpec(): NetworkSpec {
  return {
    Name: INGRESS_NAME,
    Labels: {},
    DriverConfiguration: { Name: 'overlay' },
    IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: INGRESS_SUBNET, Gateway: INGRESS_GATEWAY }] },
    Internal: false,
    Attachable: false,
    Ingress: true,
    Scope: 'swarm',
  };
}

export const isIngressNetwork = (n: Network): boolean => n.Spec.Ingress === true;

/** Whether a service publishes a port through the routing mesh (SwarmKit's IsIngressNetworkNeeded). */
export function needsIngress(spec: ServiceSpec): boolean {
  const ep = spec.EndpointSpec;
  if ((ep?.Mode ?? 'vip') !== 'vip') return false;
  return (ep?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress');
}
