/** What "nothing lost" compares: the cluster spec, every node's spec and every service's spec and version, read through the API. */
import type { SwarmHost } from './swarm-lab.js';

export interface ClusterState {
  swarm: { ID: string; Spec: unknown; Version: { Index: number } };
  nodes: { ID: string; Spec: unknown; Version: { Index: number } }[];
  services: { ID: string; Spec: unknown; Version: { Index: number } }[];
}

export async function clusterState(h: SwarmHost): Promise<ClusterState> {
  const sw = await h.api<ClusterState['swarm']>('GET', '/swarm');
  const nodes = await h.api<ClusterState['nodes']>('GET', '/nodes');
  const services = await h.api<ClusterState['services']>('GET', '/services');
  for (const [what, r] of [['swarm', sw], ['nodes', nodes], ['services', services]] as const) {
    if (r.status !== 200) throw new Error(`GET /${what} on ${h.name}: ${r.status} ${r.text}`);
  }
  const pick = <T extends { ID: string; Spec: unknown; Version: { Index: number } }>(o: T) => ({ ID: o.ID, Spec: o.Spec, Version: o.Version });
  return {
    swarm: pick(sw.json),
    nodes: nodes.json.map(pick).sort((a, b) => a.ID.localeCompare(b.ID)),
    services: services.json.map(pick).sort((a, b) => a.ID.localeCompare(b.ID)),
  };
}

/** The objects a test writes before a failure, to find again after it. */
export async function writeObjects(h: SwarmHost, tag: string): Promise<void> {
  await h.dockerOk(['swarm', 'update', '--task-history-limit', '7']);
  const nodes = await h.nodeLs();
  for (const n of nodes) await h.dockerOk(['node', 'update', '--label-add', `${tag}=${n.hostname}`, n.id]);
  await h.dockerOk(['service', 'create', '-d', '--no-resolve-image', '--name', `${tag}-web`, '--replicas', '2', '--label', `t=${tag}`, 'busybox', 'sleep', '1000']);
}
