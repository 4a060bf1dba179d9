/**
 * Mutual TLS for grpc-js between swarm nodes. Both sides present node certificates signed by the
 * cluster root; a peer's hostname is meaningless (nodes are addressed by IP, named by node ID), so the
 * client checks the server's certificate by chain (done by TLS against our root) and by its OU/O, as
 * SwarmKit does. Servers read the caller's identity from the verified client certificate.
 */
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { CertificateAuthorityError } from './ca-error.js';
import { type Identity, type NodeRole, parseIdentity } from './identity.js';

export interface TlsIdentity {
  certPem: string;
  keyPem: string;
}

/** A server that demands a client certificate signed by `rootPem`. */
export function serverCredentials(identity: TlsIdentity, rootPem: string): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    Buffer.from(rootPem),
    [{ cert_chain: Buffer.from(identity.certPem), private_key: Buffer.from(identity.keyPem) }],
    true,
  );
}

export interface ChannelCheck {
  /** roles the server's certificate may have (default: manager — only managers serve node-to-node gRPC) */
  serverRoles?: readonly NodeRole[];
  /** when given, the server's certificate must name this cluster (O) */
  clusterId?: string;
  /** when given, the server must be this node (CN) */
  nodeId?: string;
}

/**
 * Client credentials: our certificate for the server to verify, and a server check by chain + OU/O
 * instead of hostname. Pair with `channelOptions()` so TLS does not use the dialled IP as SNI.
 */
export function channelCredentials(identity: TlsIdentity, rootPem: string, check: ChannelCheck = {}): grpc.ChannelCredentials {
  const roles = check.serverRoles ?? ['manager'];
  return grpc.credentials.createSsl(Buffer.from(rootPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem), {
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      let id: Identity;
      try {
        id = parseIdentity(new Uint8Array(cert.raw));
      } catch (e) {
        return e as Error;
      }
      if (!roles.includes(id.role)) return new CertificateAuthorityError(403, `server certificate role ${id.role} is not one of ${roles.join(', ')}`);
      if (check.clusterId !== undefined && id.clusterId !== check.clusterId) {
        return new CertificateAuthorityError(403, `server certificate is for cluster ${id.clusterId}, not ${check.clusterId}`);
      }
      if (check.nodeId !== undefined && id.nodeId !== check.nodeId) {
        return new CertificateAuthorityError(403, `server certificate is node ${id.nodeId}, not ${check.nodeId}`);
      }
      return undefined;
    },
  });
}

/** Channel options for node-to-node clients: a fixed TLS server name instead of the dialled address. */
export function channelOptions(): grpc.ChannelOptions {
  return { 'grpc.ssl_target_name_override': 'swarm-manager', 'grpc.default_authority': 'swarm-manager' };
}

interface HasAuthContext {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate } | null;
}

/**
 * The caller's identity, read from the client certificate TLS verified (not from `getPeer()`, which is
 * only an address). Throws 401 when the call carries no certificate.
 */
export function peerIdentity(call: HasAuthContext): Identity {
  const ctx = call.getAuthContext();
  const raw = ctx?.sslPeerCertificate?.raw;
  if (!raw || raw.length === 0) throw new CertificateAuthorityError(401, 'the call carries no client certificate');
  return parseIdentity(new Uint8Array(raw));
}

export interface CallerPolicy {
  /** roles allowed to make this call (SwarmKit's tls_authorization) */
  roles: readonly NodeRole[];
  /** the caller must belong to this cluster (O) */
  clusterId?: string;
  /** removed nodes are refused even while their certificate is still valid */
  isRemoved?: (nodeId: string) => boolean;
}

/** peerIdentity plus the policy: 401 without a certificate, 403 for a wrong role, cluster or a removed node. */
export function authorizeCaller(call: HasAuthContext, policy: CallerPolicy): Identity {
  const id = peerIdentity(call);
  if (!policy.roles.includes(id.role)) {
    throw new CertificateAuthorityError(403, `role ${id.role} may not call this (allowed: ${policy.roles.join(', ')})`);
  }
  if (policy.clusterId !== undefined && id.clusterId !== policy.clusterId) {
    throw new CertificateAuthorityError(403, `caller belongs to cluster ${id.clusterId}, not ${policy.clusterId}`);
  }
  if (policy.isRemoved?.(id.nodeId)) throw new CertificateAuthorityError(403, `node ${id.nodeId} was removed from the swarm`);
  return id;
}
