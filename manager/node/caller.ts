/**
 * Who is calling: the identity in the caller's verified client certificate, or — when the direct
 * caller is a manager of this cluster forwarding a request to the leader — the identity it forwarded
 * (SwarmKit's raft proxy does the same, so forwarding never raises privileges). Then the call's policy:
 * allowed roles, this cluster, not a removed node.
 */
import * as grpc from '@grpc/grpc-js';
import { parseIdentity, peerIdentity, type Identity, type NodeRole } from '../ca/index.js';
import { isRecord, RpcError } from './grpc-json.js';

export const FORWARDED_FOR = 'shoal-forwarded-for';

export interface Caller {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  /** the manager that forwarded the call, when it was forwarded */
  forwardedBy?: string;
}

export interface CallPolicy {
  roles: readonly NodeRole[];
  clusterId: string;
  isRemoved: (nodeId: string) => boolean;
}

type CallWithAuth = Parameters<typeof peerIdentity>[0] & { metadata: grpc.Metadata };

/**
 * Identities of the client certificates seen, by their DER: parsing X.509 on every call (heartbeats
 * pass through here) is the largest cost of a busy leader; TLS already verified chain and validity.
 */
const identities = new Map<string, Identity>();
const IDENTITY_CACHE_MAX = 20_000;

function certIdentity(call: CallWithAuth): Identity {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  if (!raw || raw.length === 0) return peerIdentity(call); // throws: no certificate
  const key = raw.toString('base64');
  let id = identities.get(key);
  if (!id) {
    id = parseIdentity(new Uint8Array(raw));
    if (identities.size >= IDENTITY_CACHE_MAX) identities.clear();
    identities.set(key, id);
  }
  return id;
}

/** The caller as its certificate (or its forwarding manager) says; UNAUTHENTICATED without one. */
export function callerOf(call: CallWithAuth, clusterId: string): Caller {
  let direct;
  try {
    direct = certIdentity(call);
  } catch (e) {
    throw new RpcError(grpc.status.UNAUTHENTICATED, (e as Error).message);
  }
  const fwd = call.metadata.get(FORWARDED_FOR)[0];
  if (typeof fwd === 'string' && fwd !== '' && direct.role === 'manager' && direct.clusterId === clusterId) {
    let v: unknown;
    try {
      v = JSON.parse(fwd);
    } catch {
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `${FORWARDED_FOR}: not JSON`);
    }
    if (isRecord(v) && typeof v.nodeId === 'string' && (v.role === 'manager' || v.role === 'worker') && typeof v.clusterId === 'string') {
      return { nodeId: v.nodeId, role: v.role, clusterId: v.clusterId, forwardedBy: direct.nodeId };
    }
    throw new RpcError(grpc.status.INVALID_ARGUMENT, `${FORWARDED_FOR}: not an identity`);
  }
  return { nodeId: direct.nodeId, role: direct.role, clusterId: direct.clusterId };
}

/** callerOf plus the policy: PERMISSION_DENIED for a wrong role, another cluster or a removed node. */
export function authorize(call: CallWithAuth, policy: CallPolicy): Caller {
  const c = callerOf(call, policy.clusterId);
  if (c.clusterId !== policy.clusterId) throw new RpcError(grpc.status.PERMISSION_DENIED, `caller belongs to cluster ${c.clusterId}, not ${policy.clusterId}`);
  if (policy.isRemoved(c.nodeId)) throw new RpcError(grpc.status.PERMISSION_DENIED, `node ${c.nodeId} was removed from the swarm`);
  if (!policy.roles.includes(c.role)) {
    throw new RpcError(grpc.status.PERMISSION_DENIED, `Permission denied: unauthorized peer role: rpc error: code = PermissionDenied desc = role ${c.role} may not call this (allowed: ${policy.roles.join(', ')})`);
  }
  return c;
}

/** Metadata that forwards `caller` to the leader. */
export function forwardedMetadata(caller: Caller | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (caller) md.set(FORWARDED_FOR, JSON.stringify({ nodeId: caller.nodeId, role: caller.role, clusterId: caller.clusterId }));
  return md;
}

/**
 * Wraps a service implementation so every method first passes `policy` (unary: answered with the
 * status; server streams: ended with it). Used for the dispatcher, whose own shell reads identity only.
 */
export function guardService(impl: grpc.UntypedServiceImplementation, def: grpc.ServiceDefinition, policy: () => CallPolicy): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(impl)) {
    const m = def[name];
    if (!m) continue;
    if (!m.requestStream && !m.responseStream) {
      const f = fn as grpc.handleUnaryCall<unknown, unknown>;
      out[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        try {
          authorize(call, policy());
        } catch (e) {
          cb({ code: (e as RpcError).code ?? grpc.status.PERMISSION_DENIED, details: (e as Error).message });
          return;
        }
        f(call, cb);
      }) as grpc.handleUnaryCall<unknown, unknown>;
    } else if (!m.requestStream && m.responseStream) {
      const f = fn as grpc.handleServerStreamingCall<unknown, unknown>;
      out[name] = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        try {
          authorize(call, policy());
        } catch (e) {
          call.emit('error', { code: (e as RpcError).code ?? grpc.status.PERMISSION_DENIED, details: (e as Error).message });
          return;
        }
        f(call);
      }) as grpc.handleServerStreamingCall<unknown, unknown>;
    } else {
      out[name] = fn;
    }
  }
  return out;
}
