/**
 * The joining side of `swarm join` (SwarmKit's node/node.go loadSecurityConfig): for each remote
 * manager in turn, fetch the root CA without verifying TLS and check it against the token's digest,
 * then send a CSR with the token and receive this node's ID, role and certificate. Also the calls an
 * enrolled node makes over mutual TLS: renew its certificate, ask for its current role.
 */
import * as grpc from '@grpc/grpc-js';
import {
  bootstrapChannelCredentials, CertificateAuthorityError, channelOptions, createKeyAndCSR, parseJoinToken, verifyChain, verifyFetchedRoot,
  type TlsIdentity,
} from '../ca/index.js';
import type { NodeAvailability, NodeDescription } from '../store/index.js';
import { caPath, type IssueResponse, type NodeStatusResponse, type RenewResponse } from './ca-service.js';
import { grpcCode, grpcMessage, isRecord, unary } from './grpc-json.js';

export class JoinError extends Error {
  constructor(
    readonly status: 400 | 403 | 500 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'JoinError';
  }
}

export interface JoinResult extends IssueResponse {
  keyPem: string;
  /** the manager that answered */
  via: string;
}

export async function joinCluster(opts: {
  remotes: string[];
  token: string;
  availability: NodeAvailability;
  description: NodeDescription;
  addr: string;
  deadlineMs?: number;
}): Promise<JoinResult> {
  try {
    parseJoinToken(opts.token);
  } catch (e) {
    throw new JoinError(400, `invalid join token: ${(e as Error).message.replace(/^invalid join token: /, '')}`);
  }
  const deadline = opts.deadlineMs ?? 20_000;
  const errors: string[] = [];
  for (const remote of opts.remotes) {
    const client = new grpc.Client(remote, bootstrapChannelCredentials(), { ...channelOptions(), 'grpc.use_local_subchannel_pool': 1 });
    try {
      const root = await unary<{ certificate?: unknown }>(client, caPath('GetRootCACertificate'), {}, deadline);
      if (typeof root?.certificate !== 'string') throw new JoinError(503, `${remote} sent no root CA certificate`);
      try {
        verifyFetchedRoot(root.certificate, opts.token);
      } catch (e) {
        if (e instanceof CertificateAuthorityError) throw new JoinError(403, e.message);
        throw e;
      }
      const { keyPem, csrPem } = await createKeyAndCSR();
      const r = await unary<IssueResponse>(client, caPath('IssueNodeCertificate'), {
        token: opts.token, csr: csrPem, availability: opts.availability, description: opts.description, addr: opts.addr,
      }, deadline);
      if (!isRecord(r) || typeof r.certificate !== 'string' || typeof r.nodeId !== 'string' || (r.role !== 'manager' && r.role !== 'worker')) {
        throw new JoinError(503, `${remote} sent a malformed certificate answer`);
      }
      const chain = await verifyChain(r.certificate, root.certificate, new Date());
      if (!chain.ok) throw new JoinError(403, `the certificate from ${remote} does not verify against the swarm's root CA: ${chain.reason}`);
      return { ...r, rootCertificate: root.certificate, managers: Array.isArray(r.managers) ? r.managers : [], keyPem, via: remote };
    } catch (e) {
      if (e instanceof JoinError) {
        if (e.status === 503) errors.push(e.message);
        else throw e;
      } else {
        const code = grpcCode(e);
        if (code === grpc.status.INVALID_ARGUMENT || code === grpc.status.UNAUTHENTICATED) throw new JoinError(400, `rpc error: code = InvalidArgument desc = ${grpcMessage(e)}`);
        if (code === grpc.status.PERMISSION_DENIED) throw new JoinError(403, `rpc error: code = PermissionDenied desc = ${grpcMessage(e)}`);
        errors.push(`${remote}: ${grpcMessage(e)}`);
      }
    } finally {
      client.close();
    }
  }
  throw new JoinError(503, `could not join through any manager (${errors.join('; ') || 'no remote address'})`);
}

/** A new key and a certificate for it with the role the cluster gives this node now. */
export async function renewCertificate(client: grpc.Client, deadlineMs = 20_000): Promise<TlsIdentity & { role: 'manager' | 'worker' }> {
  const { keyPem, csrPem } = await createKeyAndCSR();
  const r = await unary<RenewResponse>(client, caPath('RenewNodeCertificate'), { csr: csrPem }, deadlineMs);
  if (!isRecord(r) || typeof r.certificate !== 'string' || (r.role !== 'manager' && r.role !== 'worker')) throw new Error('malformed renewal answer');
  return { certPem: r.certificate, keyPem, role: r.role };
}

export async function nodeStatus(client: grpc.Client, deadlineMs = 10_000): Promise<NodeStatusResponse> {
  const r = await unary<NodeStatusResponse>(client, caPath('NodeStatus'), {}, deadlineMs);
  if (!isRecord(r) || (r.role !== 'manager' && r.role !== 'worker')) throw new Error('malformed node status answer');
  return { ...r, managers: Array.isArray(r.managers) ? r.managers : [] };
}
