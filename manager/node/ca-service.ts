/**
 * The CA service on every manager (proto/ca.proto), one port with everything else:
 *   GetRootCACertificate — no client certificate needed (the joiner checks it against its token);
 *   IssueNodeCertificate — authenticated by the join token: the leader picks the role from the token,
 *     signs the CSR with a new node ID and creates the Node object;
 *   RenewNodeCertificate — mutual TLS: same node ID, the role the cluster gives the node now;
 *   NodeStatus — mutual TLS: the node's current role and the managers, polled by every node so a
 *     promotion or demotion reaches it.
 * The last three run on the leader; followers forward them.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  CertificateAuthorityError, issueNodeCertificate, parseIdentity, renewNodeCertificate, RootCA, secretOf, type CertificateSource,
  type NodeRole,
} from '../ca/index.js';
import { generateId, type Cluster, type Node, type NodeAvailability, type NodeDescription, type ReplicatedStore } from '../store/index.js';
import { authorize, type Caller } from './caller.js';
import { isRecord, jsonService, requestOf, rpcHandler, RpcError, str } from './grpc-json.js';
import type { LeaderForwarder } from './leader-forwarder.js';
import type { KnownManager } from './swarm-state-file.js';

export const CA_SERVICE = 'shoal.ca.CA';
export const CA_METHODS = ['GetRootCACertificate', 'IssueNodeCertificate', 'RenewNodeCertificate', 'NodeStatus'] as const;
export const caPath = (m: (typeof CA_METHODS)[number]): string => `/${CA_SERVICE}/${m}`;

export interface IssueResponse {
  nodeId: string;
  role: NodeRole;
  certificate: string;
  rootCertificate: string;
  clusterId: string;
  managers: KnownManager[];
}

export interface RenewResponse {
  certificate: string;
  role: NodeRole;
}

export interface NodeStatusResponse {
  nodeId: string;
  role: NodeRole;
  desiredRole: NodeRole;
  managers: KnownManager[];
}

export interface CaServiceDeps {
  clusterId: string;
  store: ReplicatedStore;
  certs: CertificateSource;
  forwarder: LeaderForwarder;
  now: () => Date;
  isRemoved: (nodeId: string) => boolean;
  /** the root CA key of a cluster that holds it sealed (autolock); throws when it cannot be opened here */
  openRootKey?: (cluster: Cluster) => string | undefined;
  /** the join tokens of a cluster that holds them sealed (autolock) */
  openJoinTokens?: (cluster: Cluster) => { Worker: string; Manager: string };
}

/** The managers other nodes may dial (from the store's Node objects). */
export function knownManagers(store: ReplicatedStore): KnownManager[] {
  return store.view((tx) =>
    tx
      .find('nodes')
      .filter((n) => n.ManagerStatus?.Addr)
      .map((n) => ({ nodeId: n.ID, addr: n.ManagerStatus!.Addr })),
  );
}

const rootCache = new Map<string, Promise<RootCA>>();

/**
 * The cluster's signing CA (its key is replicated in the Cluster object: in clear, or sealed while
 * autolock is on — `openRootKey` opens it then).
 */
export function signerOf(cluster: Cluster, openRootKey?: (c: Cluster) => string | undefined): Promise<RootCA> {
  let p = rootCache.get(cluster.RootCADigest);
  if (!p) {
    let key = cluster.RootCAKey;
    if (!key && cluster.SealedRootCAKey && openRootKey) {
      try {
        key = openRootKey(cluster);
      } catch (e) {
        return Promise.reject(new RpcError(grpc.status.FAILED_PRECONDITION, `this manager cannot open the cluster's CA key yet: ${(e as Error).message}`));
      }
    }
    if (!key) return Promise.reject(new RpcError(grpc.status.FAILED_PRECONDITION, 'the cluster has no CA key to sign with'));
    p = RootCA.load(cluster.RootCACert, key);
    rootCache.set(cluster.RootCADigest, p);
    p.catch(() => rootCache.delete(cluster.RootCADigest));
  }
  return p;
}

function clusterOf(store: ReplicatedStore): Cluster {
  const c = store.view((tx) => tx.find('clusters')[0]);
  if (!c) throw new RpcError(grpc.status.UNAVAILABLE, 'the cluster is not initialised yet');
  return c;
}

function caError(e: unknown): never {
  if (e instanceof CertificateAuthorityError) {
    const code = e.status === 400 ? grpc.status.INVALID_ARGUMENT : e.status === 401 ? grpc.status.INVALID_ARGUMENT
      : e.status === 403 ? grpc.status.PERMISSION_DENIED : grpc.status.INTERNAL;
    // SwarmKit's wording starts with a capital ("A valid join token is necessary…")
    throw new RpcError(code, e.message.charAt(0).toUpperCase() + e.message.slice(1));
  }
  throw e;
}

function availabilityOf(v: unknown): NodeAvailability {
  if (v === undefined || v === '') return 'active';
  if (v === 'active' || v === 'pause' || v === 'drain') return v;
  throw new RpcError(grpc.status.INVALID_ARGUMENT, `availability: '${String(v)}' is not active, pause or drain`);
}

function emptyDescription(): NodeDescription {
  return { Hostname: '', Platform: { Architecture: '', OS: '' }, Resources: { NanoCPUs: 0, MemoryBytes: 0 }, Engine: { EngineVersion: '' } };
}

export function caService(deps: CaServiceDeps): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const { store, forwarder } = deps;
  const policy = (roles: readonly NodeRole[]) => ({ roles, clusterId: deps.clusterId, isRemoved: deps.isRemoved });

  const issue = async (req: Record<string, unknown>): Promise<IssueResponse> => {
    const token = str(req, 'token');
    const csr = str(req, 'csr');
    const availability = availabilityOf(req.availability);
    const description = isRecord(req.description) ? (req.description as unknown as NodeDescription) : emptyDescription();
    const addr = typeof req.addr === 'string' ? req.addr : '';
    const cluster = clusterOf(store);
    const ca = await signerOf(cluster, deps.openRootKey);
    let tokens = cluster.JoinTokens;
    if (cluster.SealedJoinTokens && deps.openJoinTokens) {
      try {
        tokens = deps.openJoinTokens(cluster);
      } catch (e) {
        throw new RpcError(grpc.status.FAILED_PRECONDITION, `this manager cannot open the cluster's join tokens yet: ${(e as Error).message}`);
      }
    }
    const nodeId = generateId((n) => randomBytes(n));
    let issued;
    try {
      issued = await issueNodeCertificate({ token, csrPem: csr }, {
        workerSecret: secretOf(tokens.Worker), managerSecret: secretOf(tokens.Manager), ca,
        clusterId: cluster.ID, newNodeId: nodeId, now: deps.now(), isRemoved: deps.isRemoved,
        validityDays: Math.max(1 / 24, cluster.Spec.CAConfig.NodeCertExpiry / 1e9 / 86400),
      });
    } catch (e) {
      caError(e);
    }
    const node: Omit<Node, 'Meta'> = {
      ID: nodeId,
      Spec: { Labels: {}, Role: issued.role, Availability: availability },
      Description: description,
      Status: { State: 'unknown', Addr: addr },
      Certificate: { Status: 'issued', Certificate: issued.certPem },
      Role: issued.role,
    };
    await store.update((tx) => tx.create('nodes', node));
    return { nodeId, role: issued.role, certificate: issued.certPem, rootCertificate: cluster.RootCACert, clusterId: cluster.ID, managers: knownManagers(store) };
  };

  const renew = async (caller: Caller, req: Record<string, unknown>): Promise<RenewResponse> => {
    const csr = str(req, 'csr');
    const cluster = clusterOf(store);
    const node = store.view((tx) => tx.get('nodes', caller.nodeId));
    if (!node) throw new RpcError(grpc.status.NOT_FOUND, `node ${caller.nodeId} is not a member of this swarm`);
    let issued;
    try {
      issued = await renewNodeCertificate(csr, {
        ca: await signerOf(cluster, deps.openRootKey), clusterId: cluster.ID, nodeId: node.ID, role: node.Role, now: deps.now(), isRemoved: deps.isRemoved,
        validityDays: Math.max(1 / 24, cluster.Spec.CAConfig.NodeCertExpiry / 1e9 / 86400),
      });
    } catch (e) {
      caError(e);
    }
    await store.update((tx) => {
      const n = tx.get('nodes', node.ID);
      if (n) tx.update('nodes', { ...n, Certificate: { Status: 'issued', Certificate: issued.certPem } });
    });
    return { certificate: issued.certPem, role: issued.role };
  };

  const status = async (caller: Caller): Promise<NodeStatusResponse> => {
    const node = store.view((tx) => tx.get('nodes', caller.nodeId));
    if (!node) throw new RpcError(grpc.status.NOT_FOUND, `node ${caller.nodeId} is not a member of this swarm`);
    return { nodeId: node.ID, role: node.Role, desiredRole: node.Spec.Role, managers: knownManagers(store) };
  };

  const implementation: grpc.UntypedServiceImplementation = {
    GetRootCACertificate: rpcHandler(async () => ({ certificate: deps.certs.current().rootPem })),
    IssueNodeCertificate: rpcHandler(async (call) => {
      const req = requestOf(call);
      return forwarder.run(caPath('IssueNodeCertificate'), req, undefined, () => issue(req));
    }),
    RenewNodeCertificate: rpcHandler(async (call) => {
      const caller = authorize(call, policy(['worker', 'manager']));
      const req = requestOf(call);
      return forwarder.run(caPath('RenewNodeCertificate'), req, caller, () => renew(caller, req));
    }),
    NodeStatus: rpcHandler(async (call) => {
      const caller = authorize(call, policy(['worker', 'manager']));
      return forwarder.run(caPath('NodeStatus'), {}, caller, () => status(caller));
    }),
  };
  return { definition: jsonService(CA_SERVICE, CA_METHODS), implementation };
}

/** The certificate's role (for a node deciding whether it must renew). */
export function certificateRole(certPem: string): NodeRole {
  return parseIdentity(certPem).role;
}
