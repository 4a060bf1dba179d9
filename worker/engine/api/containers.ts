/** Container endpoints (E2's ContainerManager), in Docker's shapes and status codes. */
import type { FastifyPluginAsync } from 'fastify';
import { portBindingsFromDocker } from '../network/index.js';
import { badRequest, notImplemented } from './errors.js';
import { parseFilters } from './filters.js';
import type { ContainerPort, EngineApiDeps, LogEntry } from './ports.js';
import { bodyObject, qBool, qInt, qString } from './query.js';
import { clientGone, isRecord, need, param, query, startStream } from './route-helpers.js';
import { containerId, containerTty, MUX_STREAM, pumpOutput, RAW_STREAM } from './streams.js';
import { encodeFrame } from './stdcopy.js';

export const CONTAINER_LIST_FILTERS = ['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume'] as const;
// Docker requires two characters or more; one is accepted here too (the issue's `docker run --name w`)
const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const CONDITIONS = ['not-running', 'next-exit', 'removed'] as const;

/** Docker's `since`/`until` for logs: unix seconds (fraction allowed); 0 or absent = no bound. */
function logTime(q: Record<string, unknown>, key: string): number | undefined {
  const v = qString(q, key);
  if (v === undefined || v === '' || v === '0') return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw badRequest(`invalid value for ${key}: ${v} (unix seconds)`);
  return Number(v);
}

function waitResult(r: unknown): { StatusCode: number; Error: { Message: string } | null } {
  if (typeof r === 'number') return { StatusCode: r, Error: null };
  if (isRecord(r)) {
    const code = typeof r['StatusCode'] === 'number' ? r['StatusCode'] : typeof r['exitCode'] === 'number' ? r['exitCode'] : 0;
    const err = r['Error'];
    return { StatusCode: code, Error: isRecord(err) && typeof err['Message'] === 'string' ? { Message: err['Message'] } : null };
  }
  return { StatusCode: 0, Error: null };
}

function createResult(r: unknown): { Id: string; Warnings: string[] } {
  if (typeof r === 'string') return { Id: r, Warnings: [] };
  if (isRecord(r)) {
    const id = typeof r['Id'] === 'string' ? r['Id'] : typeof r['id'] === 'string' ? r['id'] : '';
    const w = Array.isArray(r['Warnings']) ? r['Warnings'].map(String) : [];
    return { Id: id, Warnings: w };
  }
  return { Id: '', Warnings: [] };
}

async function* logsAsOutput(logs: AsyncIterable<LogEntry>, timestamps: boolean): AsyncGenerator<{ stream: 'stdout' | 'stderr'; data: Buffer }> {
  for await (const l of logs) yield { stream: l.stream, data: timestamps ? Buffer.concat([Buffer.from(`${l.time} `), l.data]) : l.data };
}

async function streamStats(containers: ContainerPort, id: string, out: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const s = await containers.stats(id, { stream: false });
    out.write(`${JSON.stringify(s)}\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function containerRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  const c = (): ContainerPort => need(deps.containers, 'containers');
  return async (app) => {
    app.post('/containers/create', async (req, reply) => {
      const containers = c();
      const body = bodyObject(req.body);
      const name = qString(query(req), 'name');
      if (name !== undefined && name !== '' && !NAME_RE.test(name)) throw badRequest(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      if (typeof body['Image'] !== 'string' || body['Image'] === '') throw badRequest('Config.Image is required (the image to run)');
      // checked before anything is created (the network attaches only at start)
      const hc = body['HostConfig'];
      if (isRecord(hc)) portBindingsFromDocker(hc['PortBindings']);
      const r = createResult(await containers.create(body, name ? name.replace(/^\//, '') : undefined));
      return reply.status(201).send(r);
    });
    app.get('/containers/json', async (req) => {
      const q = query(req);
      const filters = parseFilters(q['filters'], CONTAINER_LIST_FILTERS);
      const limit = qInt(q, 'limit');
      return c().list({ all: qBool(q, 'all') || (limit !== undefined && limit > 0), filters, size: qBool(q, 'size'), ...(limit !== undefined && limit > 0 ? { limit } : {}) });
    });
    app.post('/containers/prune', async () => {
      const containers = c();
      if (!containers.prune) return { ContainersDeleted: [], SpaceReclaimed: 0 };
      return containers.prune();
    });
    app.get('/containers/:id/json', async (req) => c().inspect(param(req, 'id')));
    app.post('/containers/:id/start', async (req, reply) => {
      await c().start(param(req, 'id'));
      return reply.status(204).send();
    });
    app.post('/containers/:id/stop', async (req, reply) => {
      const q = query(req);
      const t = qInt(q, 't');
      const signal = qString(q, 'signal');
      await c().stop(param(req, 'id'), { ...(t !== undefined ? { t } : {}), ...(signal ? { signal } : {}) });
      return reply.status(204).send();
    });
    app.post('/containers/:id/kill', async (req, reply) => {
      await c().kill(param(req, 'id'), qString(query(req), 'signal') || 'SIGKILL');
      return reply.status(204).send();
    });
    app.post('/containers/:id/restart', async (req, reply) => {
      const q = query(req);
      const t = qInt(q, 't');
      const signal = qString(q, 'signal');
      await c().restart(param(req, 'id'), { ...(t !== undefined ? { t } : {}), ...(signal ? { signal } : {}) });
      return reply.status(204).send();
    });
    app.post('/containers/:id/wait', async (req, reply) => {
      const containers = c();
      const cond = qString(query(req), 'condition') || 'not-running';
      if (!(CONDITIONS as readonly string[]).includes(cond)) throw badRequest(`invalid condition: "${cond}" (not-running, next-exit or removed)`);
      const id = containerId(containers, param(req, 'id'));
      // headers go out now: `docker run` waits before it starts the container
      const pending = Promise.resolve(containers.wait(id, cond as (typeof CONDITIONS)[number]));
      const out = startStream(req, reply, 'application/json');
      pending.then(
        (r) => out.end(`${JSON.stringify(waitResult(r))}\n`),
        (e: unknown) => out.end(`${JSON.stringify({ StatusCode: -1, Error: { Message: (e as Error).message } })}\n`),
      );
      return reply;
    });
    app.delete('/containers/:id', async (req, reply) => {
      const q = query(req);
      await c().remove(param(req, 'id'), { force: qBool(q, 'force'), v: qBool(q, 'v'), link: qBool(q, 'link') });
      return reply.status(204).send();
    });
    app.post('/containers/:id/resize', async (req, reply) => {
      const containers = c();
      const q = query(req);
      const h = qInt(q, 'h') ?? 0;
      const w = qInt(q, 'w') ?? 0;
      const id = param(req, 'id');
      containers.inspect(id);
      if (containers.resize) await containers.resize(id, h, w);
      return reply.status(200).send();
    });
    app.get('/containers/:id/logs', async (req, reply) => {
      const containers = c();
      const q = query(req);
      const id = param(req, 'id');
      const tty = containerTty(containers, id);
      const stdout = qBool(q, 'stdout');
      const stderr = qBool(q, 'stderr');
      if (!stdout && !stderr) throw badRequest('you must choose at least one stream (stdout or stderr)');
      const tailRaw = qString(q, 'tail');
      const tail = tailRaw === undefined || tailRaw === '' || tailRaw === 'all' ? 'all' : /^\d+$/.test(tailRaw) ? Number(tailRaw) : undefined;
      if (tail === undefined) throw badRequest(`invalid value for tail: ${tailRaw} (a number or "all")`);
      const since = logTime(q, 'since');
      const until = logTime(q, 'until');
      const timestamps = qBool(q, 'timestamps');
      const logs = await containers.logs(id, { follow: qBool(q, 'follow'), stdout, stderr, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), tail, timestamps });
      const out = startStream(req, reply, tty ? RAW_STREAM : MUX_STREAM);
      pumpOutput(logsAsOutput(logs, timestamps), out, tty).then(
        () => out.end(),
        (e: unknown) => out.end(tty ? '' : encodeFrame('stderr', Buffer.from(`error reading logs: ${(e as Error).message}\n`))),
      );
      return reply;
    });
    // The plain (non-upgraded) attach, as dockerode sends without hijack: output in the response body.
    app.post('/containers/:id/attach', async (req, reply) => {
      const containers = c();
      const q = query(req);
      const id = param(req, 'id');
      const tty = containerTty(containers, id);
      const session = await containers.attach(id, { stdin: false, stdout: qBool(q, 'stdout'), stderr: qBool(q, 'stderr'), stream: qBool(q, 'stream'), logs: qBool(q, 'logs') });
      const out = startStream(req, reply, tty ? RAW_STREAM : MUX_STREAM);
      pumpOutput(session.output, out, tty).then(
        () => out.end(),
        () => out.end(),
      );
      return reply;
    });
    app.get('/containers/:id/stats', async (req, reply) => {
      const containers = c();
      const q = query(req);
      const id = param(req, 'id');
      const stream = qBool(q, 'stream', true) && !qBool(q, 'one-shot');
      if (!stream) return containers.stats(id, { stream: false });
      containers.inspect(id);
      const gone = clientGone(reply);
      const out = startStream(req, reply, 'application/json');
      streamStats(containers, id, out, gone).then(
        () => out.end(),
        () => out.end(),
      );
      return reply;
    });
    for (const action of ['pause', 'unpause'] as const) {
      app.post(`/containers/:id/${action}`, async (req, reply) => {
        const containers = c();
        const fn = containers[action];
        if (!fn) throw notImplemented(`${action} of containers`);
        await fn.call(containers, param(req, 'id'));
        return reply.status(204).send();
      });
    }
    app.get('/containers/:id/top', async (req) => {
      const containers = c();
      const id = param(req, 'id');
      containers.inspect(id);
      if (!containers.top) return { Titles: ['PID', 'CMD'], Processes: [] };
      return containers.top(id, qString(query(req), 'ps_args'));
    });
  };
}
