/**
 * Node-to-node RPCs with a JSON codec (the objects are the Docker-shaped documents the store holds, as
 * proto/dispatcher.proto does): method definitions, a unary client call with a deadline, and the
 * error type a handler throws to answer with a gRPC status.
 */
import * as grpc from '@grpc/grpc-js';

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v ?? {})),
  deserialize: (b: Buffer): unknown => {
    if (b.length === 0) return {};
    try {
      return JSON.parse(b.toString('utf8')) as unknown;
    } catch {
      return undefined; // a handler treats a non-object request as invalid
    }
  },
};

export function jsonMethod(service: string, name: string): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/${service}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}

export function jsonService(service: string, names: readonly string[]): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const n of names) out[n] = jsonMethod(service, n);
  return out;
}

/** A refusal with a gRPC status; handlers throw it, rpcHandler answers it. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    /** where the leader is, for a follower's UNAVAILABLE */
    readonly leaderAddr?: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export const LEADER_TRAILER = 'shoal-leader-addr';

/** A ServiceError for anything thrown: RpcError keeps its code, CA errors map 401/403, the rest INTERNAL. */
export function toStatus(e: unknown): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  if (e instanceof RpcError) {
    if (e.leaderAddr) metadata.set(LEADER_TRAILER, e.leaderAddr);
    return { code: e.code, details: e.message, metadata };
  }
  const status = (e as { status?: unknown })?.status;
  const message = e instanceof Error ? e.message : String(e);
  if (status === 400) return { code: grpc.status.INVALID_ARGUMENT, details: message, metadata };
  if (status === 401) return { code: grpc.status.UNAUTHENTICATED, details: message, metadata };
  if (status === 403) return { code: grpc.status.PERMISSION_DENIED, details: message, metadata };
  if (status === 404) return { code: grpc.status.NOT_FOUND, details: message, metadata };
  return { code: grpc.status.INTERNAL, details: message, metadata };
}

export type UnaryHandler = (call: grpc.ServerUnaryCall<unknown, unknown>) => Promise<unknown>;

/** Wraps an async handler as a grpc-js unary implementation. */
export function rpcHandler(fn: UnaryHandler): grpc.handleUnaryCall<unknown, unknown> {
  return (call, cb) => {
    fn(call).then(
      (r) => cb(null, r ?? {}),
      (e: unknown) => cb(toStatus(e)),
    );
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The request as a record (anything else is INVALID_ARGUMENT). */
export function requestOf(call: grpc.ServerUnaryCall<unknown, unknown>): Record<string, unknown> {
  if (!isRecord(call.request)) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'request: must be a JSON object');
  return call.request;
}

export function str(req: Record<string, unknown>, field: string, opts: { optional?: boolean } = {}): string {
  const v = req[field];
  if (v === undefined && opts.optional) return '';
  if (typeof v !== 'string' || (v === '' && !opts.optional)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `${field}: must be a non-empty string`);
  return v;
}

/** One unary call with a deadline; rejects with the grpc ServiceError. */
export function unary<R>(
  client: grpc.Client,
  path: string,
  req: unknown,
  deadlineMs: number,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      json.serialize,
      (b: Buffer) => json.deserialize(b),
      req,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (err: grpc.ServiceError | null, res?: unknown) => (err ? reject(err) : resolve(res as R)),
    );
  });
}

/** The leader's address a follower named in its refusal, if any. */
export function leaderAddrOf(e: unknown): string | undefined {
  const md = (e as { metadata?: grpc.Metadata })?.metadata;
  const v = md?.get?.(LEADER_TRAILER)?.[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function grpcCode(e: unknown): number | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** The message of a grpc error without grpc-js's "N CODE: " prefix. */
export function grpcMessage(e: unknown): string {
  const d = (e as { details?: unknown })?.details;
  if (typeof d === 'string' && d !== '') return d;
  return e instanceof Error ? e.message : String(e);
}
