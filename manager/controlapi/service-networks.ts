/** A service's networks checked against the store when the service is written (see checkServiceNetworks). */
import { isIngressNetwork } from '../allocator/ingress.js';
import { isStoreError, type Network, type ReadTx, type ServiceSpec } from '../store/index.js';
import { ValidationError } from './validate.js';

/** The engine's own networks: never swarm networks. */
export const PREDEFINED_NETWORKS: ReadonlySet<string> = new Set(['bridge', 'host', 'none']);

/**
 * The networks a service spec names must be swarm networks (moby resolves each target before asking
 * SwarmKit): by ID, name or unique ID prefix; never the ingress network (SwarmKit's message); a
 * node-local network name gets moby's "cannot be used with services". Throws ValidationError.
 */
export function checkServiceNetworks(tx: ReadTx, spec: ServiceSpec): void {
  (spec.TaskTemplate.Networks ?? []).forEach((t, i) => {
    let n: Network;
    try {
      n = tx.lookup('networks', t.Target);
    } catch (e) {
      if (PREDEFINED_NETWORKS.has(t.Target)) {
        throw new ValidationError(`TaskTemplate.Networks[${i}]: The network ${t.Target} cannot be used with services. Only networks scoped to the swarm can be used, such as those created with the overlay driver.`, 403);
      }
      if (isStoreError(e, 'not-found')) throw new ValidationError(`TaskTemplate.Networks[${i}]: network ${t.Target} not found`, 404);
      if (isStoreError(e, 'ambiguous')) throw new ValidationError(`TaskTemplate.Networks[${i}]: network ${t.Target} is ambiguous`);
      throw e;
    }
    if (isIngressNetwork(n)) throw new ValidationError(`rpc error: code = InvalidArgument desc = Service cannot be explicitly attached to the ingress network "${n.Spec.Name}"`);
  });
}

