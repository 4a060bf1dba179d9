/** A grpc-js client of proto/dispatcher.proto for one manager address. */
import * as grpc from '@grpc/grpc-js';
import { channelOptions } from '../../manager/ca/index.js';
import { dispatcherServiceDefinition, LEADER_ADDR_KEY } from '../../manager/dispatcher/dispatcher-service.js';
import type {
  AssignmentsMessage, HeartbeatResponse, SessionMessage, SessionRequest, StatusReport, UpdateTaskStatusResponse,
} from '../../manager/dispatcher/wire.js';
import type { PublishLogsRequest, SubscriptionMessage } from '../../manager/dispatcher/logs.js';

const Ctor = grpc.makeGenericClientConstructor(dispatcherServiceDefinition(), 'Dispatcher');

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => grpc.ClientUnaryCall;
type Stream = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

export class DispatcherClient {
  private readonly client: grpc.Client;

  constructor(readonly addr: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}) {
    this.client = new Ctor(addr, credentials, { ...channelOptions(), ...options });
  }

  private unary<R>(name: string, req: unknown, deadlineMs: number): Promise<R> {
    const fn = (this.client as unknown as Record<string, Unary>)[name]!.bind(this.client);
    return new Promise((resolve, reject) => {
      fn(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (e, r) => (e ? reject(e) : resolve(r as R)));
    });
  }

  private stream<M>(name: string, req: unknown): grpc.ClientReadableStream<M> {
    const fn = (this.client as unknown as Record<string, Stream>)[name]!.bind(this.client);
    return fn(req, new grpc.Metadata(), {}) as grpc.ClientReadableStream<M>;
  }

  session(req: SessionRequest): grpc.ClientReadableStream<SessionMessage> {
    return this.stream('Session', req);
  }

  assignments(sessionId: string): grpc.ClientReadableStream<AssignmentsMessage> {
    return this.stream('Assignments', { sessionId });
  }

  heartbeat(sessionId: string, deadlineMs: number): Promise<HeartbeatResponse> {
    return this.unary('Heartbeat', { sessionId }, deadlineMs);
  }

  updateTaskStatus(sessionId: string, updates: StatusReport[], deadlineMs: number): Promise<UpdateTaskStatusResponse> {
    return this.unary('UpdateTaskStatus', { sessionId, updates }, deadlineMs);
  }

  listenSubscriptions(sessionId: string): grpc.ClientReadableStream<SubscriptionMessage> {
    return this.stream('ListenSubscriptions', { sessionId });
  }

  publishLogs(req: PublishLogsRequest, deadlineMs: number): Promise<{ stop: boolean }> {
    return this.unary('PublishLogs', req, deadlineMs);
  }

  close(): void {
    this.client.close();
  }
}

/** The leader's address from a follower's refusal, when it named one. */
export function leaderAddrOf(e: unknown): string | undefined {
  const md = (e as { metadata?: grpc.Metadata })?.metadata;
  const v = md?.get?.(LEADER_ADDR_KEY)?.[0];
  return typeof v === 'string' && v ? v : undefined;
}
