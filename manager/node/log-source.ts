/**
 * The services REST API's LogSource over the dispatcher's LogBroker (the local dispatcher while this
 * manager leads, else the leader's SubscribeLogs): the same lines, the option shapes of each side.
 */
import type { LogSource } from '../controlapi/service-logs.js';
import type { LogBroker } from '../dispatcher/logs.js';

export function logSourceOf(broker: LogBroker): LogSource {
  return {
    subscribe(selector, options, signal) {
      const lines = broker.subscribe(
        { ...(selector.serviceIds ? { serviceIds: selector.serviceIds } : {}), ...(selector.taskIds ? { taskIds: selector.taskIds } : {}) },
        {
          follow: options.follow,
          ...(options.tail !== undefined ? { tail: options.tail } : {}),
          ...(options.since !== undefined ? { since: options.since } : {}),
          stdout: options.streams.includes('stdout'),
          stderr: options.streams.includes('stderr'),
        },
        signal,
      );
      return {
        async *[Symbol.asyncIterator]() {
          for await (const l of lines) yield { context: l.context, timestamp: l.timestamp, stream: l.stream, data: l.data };
        },
      };
    },
  };
}
