/**
 * The gRPC shell of the dispatcher (proto/dispatcher.proto): identity from the mTLS certificate only,
 * DispatchError codes mapped to gRPC statuses, streams ended when the session ends.
 */
import * as grpc from '@grpc/grpc-js';
import { peerIdentity } from '../ca/index.js';
import { parseIdentity, type Identity } from '../ca/identity.js';
import type { NodeDescription } from '../store/index.js';
import type { AssignmentMessage } from './assignments.js';
import { DispatchError } from './dispatch-error.js';
import { type PublishLogsRequest, type SubscriptionMessage, type WireLogLine, checkSubscription } from './logs.js';
import type { DispatcherHandle, Sink } from './dispatcher.js';
import type {
  AssignmentsRequest, HeartbeatRequest, HeartbeatResponse, SessionMessage, SessionRequest, UpdateTaskStatusRequest,
  UpdateTaskStatusResponse,
} from './wire.js';

export const DISPATCHER_SERVICE = '/shoal.dispatcher.Dispatcher';
export const LEADER_ADDR_KEY = 'shoal-leader-addr';

const json = {
  serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString('utf8')),
};

function method(name: string, responseStream: boolean): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `${DISPATCHER_SERVICE}/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}

export function dispatcherServiceDefinition(): grpc.ServiceDefinition {
  return {
    Session: method('Session', true),
    Heartbeat: method('Heartbeat', false),
    Assignments: method('Assignments', true),
    UpdateTaskStatus: method('UpdateTaskStatus', false),
    ListenSubscriptions: method('ListenSubscriptions', true),
    PublishLogs: method('PublishLogs', false),
    SubscribeLogs: method('SubscribeLogs', true),
  };
}

/** A gRPC status error for `e` (DispatchError, CA errors with a status, anything else INTERNAL). */
export function toServiceError(e: unknown): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  if (e instanceof DispatchError) {
    const code = {
      'not-leader': grpc.status.UNAVAILABLE,
      'permission-denied': grpc.status.PERMISSION_DENIED,
      'session-invalid': grpc.status.NOT_FOUND,
      invalid: grpc.status.INVALID_ARGUMENT,
      unavailable: grpc.status.UNAVAILABLE,
    }[e.code];
    if (e.leaderAddr) metadata.set(LEADER_ADDR_KEY, e.leaderAddr);
    return { code, details: e.message, metadata };
  }
  const status = (e as { status?: number })?.status;
  if (status === 401) return { code: grpc.status.UNAUTHENTICATED, details: (e as Error).message, metadata };
  if (status === 403) return { code: grpc.status.PERMISSION_DENIED, details: (e as Error).message, metadata };
  return { code: grpc.status.INTERNAL, details: (e as Error)?.message ?? String(e), metadata };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw new DispatchError('invalid', `${field}: must be a non-empty string`);
  return v;
}

/** The peer's IP as grpc-js reports it ("1.2.3.4:5678" or "[::1]:5678"). */
function peerHost(peer: string): string {
  const m = /^\[?([^\]]+?)\]?:\d+$/.exec(peer);
  return m ? m[1]! : peer;
}

function streamSink<M>(call: grpc.ServerWritableStream<unknown, unknown>): Sink<M> {
  let ended = false;
  return {
    send: (msg) => {
      if (!ended && !call.cancelled) call.write(msg);
    },
    end: (err) => {
      if (ended) return;
      ended = true;
      if (err) call.emit('error', toServiceError(err));
      else call.end();
    },
  };
}

/**
 * Identities of the client certificates seen, by their DER bytes: parsing X.509 on every heartbeat cost
 * most of the leader's CPU with hundreds of agents (the TLS handshake already verified the chain and
 * the validity; removal is checked against the store at session time).
 */
const identities = new Map<string, Identity>();
const IDENTITY_CACHE_MAX = 20_000;

function identityOf(call: { getAuthContext(): unknown }): Identity {
  const raw = (call.getAuthContext() as { sslPeerCertificate?: { raw?: Buffer } } | undefined)?.sslPeerCertificate?.raw;
  if (!raw || raw.length === 0) return peerIdentity(call as Parameters<typeof peerIdentity>[0]); // its error
  const key = raw.toString('base64');
  let id = identities.get(key);
  if (!id) {
    id = parseIdentity(new Uint8Array(raw));
    if (identities.size >= IDENTITY_CACHE_MAX) identities.clear();
    identities.set(key, id);
  }
  return id;
}

function nodeOf(call: { getAuthContext(): unknown }): string {
  return identityOf(call).nodeId;
}

/** A batch of log lines as SubscribeLogs sends them. */
export interface SubscribeLogsMessage {
  lines: (WireLogLine & { nodeId: string })[];
}

/** Lines gathered for at most this long (or this many) before one SubscribeLogs message. */
const LOG_BATCH_MS = 10;
const LOG_BATCH_LINES = 500;

export function dispatcherService(d: DispatcherHandle): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const implementation: grpc.UntypedServiceImplementation = {
    Session: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      const sink = streamSink<SessionMessage>(call);
      try {
        const nodeId = nodeOf(call);
        const req = (isObject(call.request) ? call.request : {}) as SessionRequest;
        const description = isObject(req.description) ? (req.description as unknown as NodeDescription) : undefined;
        const addr = typeof req.addr === 'string' && req.addr ? req.addr : peerHost(call.getPeer());
        const sessionId = d.session(nodeId, { description, addr }, sink);
        const close = () => d.closeSession(nodeId, sessionId);
        call.on('cancelled', close);
        call.on('close', close);
      } catch (e) {
        call.emit('error', toServiceError(e));
      }
    },
    Heartbeat: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<HeartbeatResponse>) => {
      try {
        const req = (isObject(call.request) ? call.request : {}) as Partial<HeartbeatRequest>;
        cb(null, d.heartbeat(nodeOf(call), str(req.sessionId, 'sessionId')));
      } catch (e) {
        cb(toServiceError(e));
      }
    },
    Assignments: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      const sink = streamSink<AssignmentMessage>(call);
      try {
        const req = (isObject(call.request) ? call.request : {}) as Partial<AssignmentsRequest>;
        const detach = d.assignments(nodeOf(call), str(req.sessionId, 'sessionId'), sink);
        call.on('cancelled', detach);
        call.on('close', detach);
      } catch (e) {
        call.emit('error', toServiceError(e));
      }
    },
    UpdateTaskStatus: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<UpdateTaskStatusResponse>) => {
      let nodeId: string;
      let req: Partial<UpdateTaskStatusRequest>;
      try {
        nodeId = nodeOf(call);
        req = (isObject(call.request) ? call.request : {}) as Partial<UpdateTaskStatusRequest>;
        str(req.sessionId, 'sessionId');
        if (!Array.isArray(req.updates)) throw new DispatchError('invalid', 'updates: must be an array');
      } catch (e) {
        cb(toServiceError(e));
        return;
      }
      d.updateTaskStatus(nodeId, req.sessionId!, req.updates).then(
        (r) => cb(null, r),
        (e: unknown) => cb(toServiceError(e)),
      );
    },
    ListenSubscriptions: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      const sink = streamSink<SubscriptionMessage>(call);
      try {
        const req = (isObject(call.request) ? call.request : {}) as { sessionId?: unknown };
        const detach = d.listenSubscriptions(nodeOf(call), str(req.sessionId, 'sessionId'), sink);
        call.on('cancelled', detach);
        call.on('close', detach);
      } catch (e) {
        call.emit('error', toServiceError(e));
      }
    },
    PublishLogs: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<{ stop: boolean }>) => {
      let nodeId: string;
      let req: PublishLogsRequest;
      try {
        nodeId = nodeOf(call);
        const r = (isObject(call.request) ? call.request : {}) as Partial<PublishLogsRequest>;
        str(r.sessionId, 'sessionId');
        str(r.subscriptionId, 'subscriptionId');
        if (r.messages !== undefined && !Array.isArray(r.messages)) throw new DispatchError('invalid', 'messages: must be an array');
        req = { sessionId: r.sessionId!, subscriptionId: r.subscriptionId!, messages: r.messages ?? [], ...(r.close ? { close: true } : {}), ...(typeof r.error === 'string' ? { error: r.error } : {}) };
      } catch (e) {
        cb(toServiceError(e));
        return;
      }
      d.publishLogs(nodeId, req).then(
        (r) => cb(null, r),
        (e: unknown) => cb(toServiceError(e)),
      );
    },
    SubscribeLogs: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      call.on('close', () => abort.abort());
      void (async () => {
        try {
          if (identityOf(call).role !== 'manager') {
            throw new DispatchError('permission-denied', 'only managers may subscribe to task logs');
          }
          const req = (isObject(call.request) ? call.request : {}) as { selector?: unknown; options?: unknown };
          let sub;
          try {
            sub = checkSubscription(req.selector, req.options);
          } catch (e) {
            throw new DispatchError('invalid', (e as Error).message);
          }
          let batch: SubscribeLogsMessage['lines'] = [];
          let timer: ReturnType<typeof setTimeout> | undefined;
          const flush = (): void => {
            if (timer) clearTimeout(timer);
            timer = undefined;
            if (batch.length && !call.cancelled) call.write({ lines: batch } satisfies SubscribeLogsMessage);
            batch = [];
          };
          for await (const l of d.subscribe(sub.selector, sub.options, abort.signal)) {
            batch.push({ nodeId: l.context.nodeId, serviceId: l.context.serviceId, taskId: l.context.taskId, timestamp: l.timestamp, stream: l.stream, data: l.data.toString('base64') });
            if (batch.length >= LOG_BATCH_LINES) flush();
            else timer ??= setTimeout(flush, LOG_BATCH_MS);
          }
          flush();
          if (!call.cancelled) call.end();
        } catch (e) {
          if (!call.cancelled) call.emit('error', toServiceError(e));
        }
      })();
    },
  };
  return { definition: dispatcherServiceDefinition(), implementation };
}
