/**
 * The LogBroker a manager's REST API uses: the local Dispatcher while this manager leads, else the
 * leader's SubscribeLogs over gRPC + mTLS (agents hold their sessions with the leader only).
 */
import * as grpc from '@grpc/grpc-js';
import { channelOptions } from '../ca/index.js';
import { dispatcherServiceDefinition, type SubscribeLogsMessage } from './dispatcher-service.js';
import { DispatchError } from './dispatch-error.js';
import type { LogBroker, LogLine, LogSelector, LogStreamOptions } from './logs.js';

const Ctor = grpc.makeGenericClientConstructor(dispatcherServiceDefinition(), 'Dispatcher');

export interface RemoteLogBrokerOptions {
  /** where the leader's gRPC listener is ("host:port"), when known */
  leaderAddr: () => string | undefined;
  /** this manager's mTLS credentials */
  credentials: grpc.ChannelCredentials;
  /** no message at all within this long ends a non-following stream (default 60 s) */
  idleMs?: number;
}

type Stream = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/** SubscribeLogs on the leader, as a LogBroker. */
export function remoteLogBroker(o: RemoteLogBrokerOptions): LogBroker {
  return {
    subscribe(selector: LogSelector, options: LogStreamOptions, signal?: AbortSignal): AsyncIterable<LogLine> {
      const addr = o.leaderAddr();
      if (!addr) throw new DispatchError('unavailable', 'no leader is known: task logs cannot be fetched now');
      return {
        async *[Symbol.asyncIterator]() {
          const client = new Ctor(addr, o.credentials, channelOptions());
          const fn = (client as unknown as Record<string, Stream>)['SubscribeLogs']!.bind(client);
          const call = fn({ selector, options }, new grpc.Metadata(), {});
          const onAbort = (): void => call.cancel();
          signal?.addEventListener('abort', onAbort, { once: true });
          let idle: ReturnType<typeof setTimeout> | undefined;
          const arm = (): void => {
            if (options.follow) return;
            if (idle) clearTimeout(idle);
            idle = setTimeout(() => call.cancel(), o.idleMs ?? 60_000);
          };
          arm();
          try {
            for await (const m of call as AsyncIterable<SubscribeLogsMessage>) {
              arm();
              for (const l of m.lines ?? []) {
                yield {
                  context: { nodeId: l.nodeId, serviceId: l.serviceId, taskId: l.taskId },
                  timestamp: l.timestamp,
                  stream: l.stream === 'stderr' ? 'stderr' : 'stdout',
                  data: Buffer.from(l.data, 'base64'),
                };
              }
            }
          } catch (e) {
            if ((e as { code?: number }).code !== grpc.status.CANCELLED) throw e;
          } finally {
            if (idle) clearTimeout(idle);
            signal?.removeEventListener('abort', onAbort);
            call.cancel();
            client.close();
          }
        },
      };
    },
  };
}

/** The local dispatcher while it runs (this manager leads), else the leader over gRPC. */
export function managerLogBroker(o: RemoteLogBrokerOptions & { dispatcher: LogBroker & { readonly running: boolean } }): LogBroker {
  const remote = remoteLogBroker(o);
  return {
    subscribe: (selector, options, signal) => (o.dispatcher.running ? o.dispatcher : remote).subscribe(selector, options, signal),
  };
}
