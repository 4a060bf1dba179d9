/**
 * The pieces of the join flow, free of any transport (SwarmKit's node/node.go loadSecurityConfig and
 * ca/server.go IssueNodeCertificate):
 *   1. the joiner fetches the root CA without verifying TLS and checks it against the token's digest;
 *   2. it sends a CSR with the token; the CA picks the role from which secret matched and signs.
 */
import { createHash } from 'node:crypto';
import { CertificateAuthorityError } from './ca-error.js';
import type { NodeRole } from './identity.js';
import { loadCertificate } from './identity.js';
import { parseJoinToken, secretsEqual } from './join-token.js';
import type { RootCA } from './root-ca.js';

/** Checks a fetched root certificate against the digest in the join token; returns its digest. */
export function verifyFetchedRoot(rootPem: string, token: string): string {
  const parsed = parseJoinToken(token);
  const cert = loadCertificate(rootPem);
  const digest = createHash('sha256').update(new Uint8Array(cert.rawData)).digest('hex');
  if (digest !== parsed.caDigest) {
    throw new CertificateAuthorityError(
      403,
      `the remote CA does not match the join token (got sha256:${digest}, token names sha256:${parsed.caDigest}): possible man-in-the-middle or wrong token`,
    );
  }
  return digest;
}

export interface IssueRequest {
  token: string;
  csrPem: string;
  /** the role the joiner asks for; must match the token's role when given */
  requestedRole?: NodeRole;
}

export interface IssueContext {
  workerSecret: string;
  managerSecret: string;
  ca: RootCA;
  clusterId: string;
  /** the ID the new node gets (chosen by the caller: random, 25 base-36 digits in SwarmKit) */
  newNodeId: string;
  now: Date;
  isRemoved: (nodeId: string) => boolean;
  validityDays?: number;
}

export interface IssuedCertificate {
  nodeId: string;
  role: NodeRole;
  certPem: string;
}

/** Decides the role from the token and signs the CSR. 400 malformed, 401 wrong token, 403 refused. */
export async function issueNodeCertificate(req: IssueRequest, ctx: IssueContext): Promise<IssuedCertificate> {
  const parsed = parseJoinToken(req.token); // InvalidJoinTokenError (400)
  if (parsed.caDigest !== ctx.ca.digest()) {
    throw new CertificateAuthorityError(401, 'join token is for a different swarm CA: a valid join token is necessary to join this cluster');
  }
  // Both comparisons run every time, so timing does not tell which secret was close.
  const isManager = secretsEqual(parsed.secret, ctx.managerSecret);
  const isWorker = secretsEqual(parsed.secret, ctx.workerSecret);
  const role: NodeRole | undefined = isManager ? 'manager' : isWorker ? 'worker' : undefined;
  if (!role) throw new CertificateAuthorityError(401, 'a valid join token is necessary to join this cluster');
  if (req.requestedRole && req.requestedRole !== role) {
    throw new CertificateAuthorityError(403, `the join token is a ${role} token; it cannot grant the ${req.requestedRole} role`);
  }
  if (ctx.isRemoved(ctx.newNodeId)) {
    throw new CertificateAuthorityError(403, `node ${ctx.newNodeId} was removed from the swarm`);
  }
  const certPem = await ctx.ca.signCSR(req.csrPem, {
    nodeId: ctx.newNodeId,
    role,
    clusterId: ctx.clusterId,
    now: ctx.now,
    ...(ctx.validityDays !== undefined ? { validityDays: ctx.validityDays } : {}),
  });
  return { nodeId: ctx.newNodeId, role, certPem };
}

export interface RenewContext {
  ca: RootCA;
  clusterId: string;
  /** the caller's identity from its current (mTLS-verified) certificate */
  nodeId: string;
  /** the role the cluster says the node has now (it may have been promoted or demoted) */
  role: NodeRole;
  now: Date;
  isRemoved: (nodeId: string) => boolean;
  validityDays?: number;
}

/** A renewal by a node that already holds a valid certificate: same node ID, the cluster's current role. */
export async function renewNodeCertificate(csrPem: string, ctx: RenewContext): Promise<IssuedCertificate> {
  if (ctx.isRemoved(ctx.nodeId)) throw new CertificateAuthorityError(403, `node ${ctx.nodeId} was removed from the swarm`);
  const certPem = await ctx.ca.signCSR(csrPem, {
    nodeId: ctx.nodeId,
    role: ctx.role,
    clusterId: ctx.clusterId,
    now: ctx.now,
    ...(ctx.validityDays !== undefined ? { validityDays: ctx.validityDays } : {}),
  });
  return { nodeId: ctx.nodeId, role: ctx.role, certPem };
}
