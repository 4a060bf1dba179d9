/**
 * The swarm's side of peer image distribution, as small pure helpers so the wiring is a few lines:
 *
 * - every node runs `startPeerServer` on its advertise address, port `DEFAULT_PEER_PORT`, with its node
 *   certificate and `peerAuthorizer(clusterId, isRemoved)`, and advertises "host:port" in its
 *   NodeDescription under `Engine.Labels[PEER_ADDR_LABEL]` (`advertisePeer`);
 * - the executor's prepare calls `ensureImage(store, task image, { peers: () =>
 *   peersFromNodes(nodes the worker knows, self, tls) })`: registry first, then each other ready
 *   node; a node without the image answers 404 and is skipped, so no image inventory is needed.
 */
import type { PeerCertificate } from 'node:tls';
import { parseIdentity } from '../../../manager/ca/identity.js';
import { PeerClient } from './peer-client.js';

/** The NodeDescription engine label that carries a node's peer image listener, "host:port". */
export const PEER_ADDR_LABEL = 'io.shoal.image-peer';
/** Next to the swarm's 2377. */
export const DEFAULT_PEER_PORT = 2378;

/** What a peer listener checks of a caller whose chain TLS verified: this cluster, not a removed node. */
export function peerAuthorizer(clusterId: string, isRemoved: (nodeId: string) => boolean = () => false): (cert: PeerCertificate) => string | undefined {
  return (cert) => {
    let id;
    try {
      id = parseIdentity(new Uint8Array(cert.raw));
    } catch (e) {
      return `client certificate is not a node certificate: ${(e as Error).message}`;
    }
    if (id.clusterId !== clusterId) return `node ${id.nodeId} belongs to cluster ${id.clusterId}, not this one`;
    if (isRemoved(id.nodeId)) return `node ${id.nodeId} was removed from the swarm`;
    return undefined;
  };
}

/** The label to merge into this node's NodeDescription.Engine.Labels. */
export function advertisePeer(host: string, port: number = DEFAULT_PEER_PORT): Record<string, string> {
  return { [PEER_ADDR_LABEL]: `${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/** The parts of a store Node this needs (structurally a `Node` from manager/store). */
export interface PeerNode {
  ID: string;
  Description?: { Engine?: { Labels?: Record<string, string> } };
  Status?: { State?: string };
}

/**
 * A client per other ready node that advertises a peer listener; each checks that the server it
 * reaches is that node (CN = node ID), so a re-used address cannot serve as another node.
 */
export function peersFromNodes(nodes: readonly PeerNode[], selfId: string, tls: { certPem: string; keyPem: string; rootPem: string }): PeerClient[] {
  const out: PeerClient[] = [];
  for (const n of nodes) {
    const address = n.Description?.Engine?.Labels?.[PEER_ADDR_LABEL];
    if (n.ID === selfId || address === undefined || (n.Status?.State !== undefined && n.Status.State !== 'ready')) continue;
    out.push(
      new PeerClient({
        address,
        name: n.ID,
        tls,
        checkServer: (cert) => {
          try {
            const id = parseIdentity(new Uint8Array(cert.raw));
            return id.nodeId === n.ID ? undefined : new Error(`server is node ${id.nodeId}, not ${n.ID}`);
          } catch (e) {
            return e as Error;
          }
        },
      }),
    );
  }
  return out;
}
