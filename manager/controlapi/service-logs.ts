/**
 * GET /services/{id}/logs and GET /tasks/{id}/logs in Docker's shapes, over an injected LogSource (the
 * manager's log broker: SwarmKit's SubscribeLogs — the agents running the selected tasks stream their
 * containers' lines to the leader). Query: follow, tail (per task, "all" or N), since (unix seconds),
 * timestamps, details, stdout, stderr. The body is stdcopy-multiplexed (8-byte frame headers) unless
 * the service's containers have a TTY. Every line carries its context as Docker's daemon renders it
 * with details=true (the docker CLI always asks for it and prints `name.slot.task@node | line`):
 * `com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=… <line>`.
 * A followed stream ends when the client goes away or the service is removed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isStoreError, type ReplicatedStore } from '../store/index.js';
import { encodeFrame } from '../../worker/engine/api/stdcopy.js';
import { MUX_STREAM, RAW_STREAM } from '../../worker/engine/api/streams.js';
import { startStream } from '../../worker/engine/api/route-helpers.js';

export type LogStream = 'stdout' | 'stderr';

/** One log line of one task, with where it came from (SwarmKit's LogMessage). */
export interface LogMessage {
  context: { serviceId: string; nodeId: string; taskId: string };
  /** RFC 3339, any precision (rendered with Docker's fixed 9 fraction digits) */
  timestamp: string;
  stream: LogStream;
  /** the bytes as the container wrote them, newline included */
  data: Buffer;
  /** extra details (log driver attributes); shown with details=true */
  attrs?: { key: string; value: string }[];
}

export interface LogSelector {
  serviceIds?: string[];
  taskIds?: string[];
}

export interface LogSubscribeOptions {
  follow: boolean;
  /** lines per task from the end; undefined = all */
  tail?: number;
  /** unix seconds; only lines at or after */
  since?: number;
  streams: LogStream[];
}

/**
 * Where service and task logs come from (the leader's log broker). Without follow the iterable ends
 * once the selected tasks' current logs are delivered; with follow it continues until `signal` aborts.
 */
export interface LogSource {
  subscribe(selector: LogSelector, options: LogSubscribeOptions, signal: AbortSignal): AsyncIterable<LogMessage>;
}

class LogQueryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const truthy = (v: unknown): boolean => v === '1' || v === 'true' || v === 'True' || v === true;

/** Go's url.QueryEscape (space as '+', everything but [A-Za-z0-9-_.~] as %XX). */
export function goQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Docker's jsonmessage.RFC3339NanoFixed: always 9 fraction digits, UTC as Z. */
export function rfc3339NanoFixed(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return ts;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}${m[3]}`;
}

/** One line as the daemon writes it (before framing): [timestamp ][details ]data. */
export function renderLogLine(m: LogMessage, opts: { timestamps: boolean; details: boolean }): Buffer {
  const parts: Buffer[] = [];
  if (opts.timestamps) parts.push(Buffer.from(`${rfc3339NanoFixed(m.timestamp)} `));
  if (opts.details) {
    const attrs = new Map<string, string>();
    for (const a of m.attrs ?? []) attrs.set(a.key, a.value);
    // the daemon has the final say over the context keys
    attrs.set('com.docker.swarm.node.id', m.context.nodeId);
    attrs.set('com.docker.swarm.service.id', m.context.serviceId);
    attrs.set('com.docker.swarm.task.id', m.context.taskId);
    const keys = [...attrs.keys()].sort();
    parts.push(Buffer.from(`${keys.map((k) => `${goQueryEscape(k)}=${goQueryEscape(attrs.get(k)!)}`).join(',')} `));
  }
  parts.push(m.data);
  return Buffer.concat(parts);
}

function parseOptions(q: Record<string, string | undefined>): { sub: LogSubscribeOptions; timestamps: boolean; details: boolean } {
  const stdout = truthy(q.stdout);
  const stderr = truthy(q.stderr);
  if (!stdout && !stderr) throw new LogQueryError(400, 'Bad parameters: you must choose at least one stream (stdout or stderr)');
  const tailRaw = q.tail;
  let tail: number | undefined;
  if (tailRaw !== undefined && tailRaw !== '' && tailRaw !== 'all') {
    if (!/^-?\d+$/.test(tailRaw)) throw new LogQueryError(400, `tail: ${JSON.stringify(tailRaw)} is not a number or "all"`);
    const n = Number(tailRaw);
    tail = n < 0 ? undefined : n;
  }
  let since: number | undefined;
  if (q.since !== undefined && q.since !== '' && q.since !== '0') {
    if (!/^\d+(\.\d+)?$/.test(q.since)) throw new LogQueryError(400, `since: ${JSON.stringify(q.since)} is not unix seconds`);
    since = Number(q.since);
  }
  if (q.until !== undefined && q.until !== '' && q.until !== '0') throw new LogQueryError(400, 'until: not supported for service logs');
  const streams: LogStream[] = [...(stdout ? (['stdout'] as const) : []), ...(stderr ? (['stderr'] as const) : [])];
  return {
    sub: { follow: truthy(q.follow), streams, ...(tail !== undefined ? { tail } : {}), ...(since !== undefined ? { since } : {}) },
    timestamps: truthy(q.timestamps),
    details: truthy(q.details),
  };
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.status(status).header('Content-Type', 'application/json').send(JSON.stringify({ message }));
}

/** Writes `b`, waiting for drain when the socket's buffer is full; false once the client is gone. */
function write(res: NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean }, b: Buffer): Promise<boolean> | boolean {
  if (res.destroyed || res.writableEnded) return false;
  if (b.length === 0 || res.write(b)) return true;
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve(!res.destroyed);
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

export function registerLogRoutes(app: FastifyInstance, deps: { store: ReplicatedStore; logs?: LogSource }): void {
  const { store } = deps;

  const serve = async (
    req: FastifyRequest,
    reply: FastifyReply,
    what: 'service' | 'task',
  ): Promise<FastifyReply> => {
    const { id } = req.params as { id: string };
    let opts;
    let target: { serviceId: string; taskId?: string; tty: boolean };
    try {
      opts = parseOptions(req.query as Record<string, string | undefined>);
      target = store.view((tx) => {
        if (what === 'service') {
          const s = tx.lookup('services', id);
          return { serviceId: s.ID, tty: s.Spec.TaskTemplate.ContainerSpec.TTY === true };
        }
        const t = tx.lookup('tasks', id);
        return { serviceId: t.ServiceID, taskId: t.ID, tty: t.Spec.ContainerSpec.TTY === true };
      });
    } catch (e) {
      if (e instanceof LogQueryError) return sendError(reply, e.status, e.message);
      if (isStoreError(e, 'not-found')) return sendError(reply, 404, `${what} ${id} not found`);
      if (isStoreError(e, 'ambiguous')) return sendError(reply, 400, (e as Error).message);
      throw e;
    }
    if (!deps.logs) return sendError(reply, 501, `${what} logs are not available: this manager has no log broker`);

    const ac = new AbortController();
    const out = startStream(req, reply, target.tty ? RAW_STREAM : MUX_STREAM);
    out.once('close', () => ac.abort());
    // a followed stream of a service ends when the service goes
    const watcher = opts.sub.follow ? store.watch({ tables: ['services'] }) : undefined;
    if (watcher) {
      void (async () => {
        try {
          for await (const e of watcher) {
            if (e.kind === 'change' && e.action === 'delete' && e.object.ID === target.serviceId) ac.abort();
          }
        } catch {
          // closed
        }
      })();
    }
    const selector: LogSelector = target.taskId ? { taskIds: [target.taskId] } : { serviceIds: [target.serviceId] };
    try {
      for await (const m of deps.logs.subscribe(selector, opts.sub, ac.signal)) {
        if (!opts.sub.streams.includes(m.stream)) continue;
        const line = renderLogLine(m, opts);
        const ok = await write(out, target.tty ? line : encodeFrame(m.stream, line));
        if (!ok) break;
      }
    } catch (e) {
      if (!ac.signal.aborted) {
        const msg = Buffer.from(`error from daemon in stream: Error grabbing logs: ${(e as Error).message}\n`);
        await write(out, target.tty ? msg : encodeFrame('stderr', msg));
      }
    } finally {
      watcher?.close();
      ac.abort();
      if (!out.writableEnded) out.end();
    }
    return reply;
  };

  app.get('/services/:id/logs', (req, reply) => serve(req, reply, 'service'));
  app.get('/tasks/:id/logs', (req, reply) => serve(req, reply, 'task'));
}
