/**
 * The engine API's door to the control API. Requests for control paths (GET /swarm, /swarm/update,
 * /swarm/unlockkey, /nodes…, /services…, /tasks…, /secrets…, /configs…, /distribution…) are taken
 * before the engine parses them and go: to this manager's control app when it leads (as a raw request,
 * so streams work); to the leader over mutual TLS when it follows; or are refused with Docker's 503
 * when this node is a worker or in no swarm. Registered as a root-level hook (not encapsulated).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ForwardRequest, ForwardResponse } from '../node/control-forward.js';
import { COMMON_HEADERS } from '../../worker/engine/api/version-prefix.js';

export type ControlTarget =
  | { kind: 'refuse'; status: number; message: string }
  | { kind: 'local'; app: FastifyInstance }
  /** a follower: requests go to the leader, but log streams are served here (they follow the leader's broker) */
  | { kind: 'forward'; forward: (r: ForwardRequest) => Promise<ForwardResponse>; localApp?: FastifyInstance };

export interface ControlGatewayDeps {
  target: () => ControlTarget;
}

const PREFIXES = ['/nodes', '/services', '/tasks', '/secrets', '/configs'];
const SWARM_CONTROL = new Set(['/swarm', '/swarm/update', '/swarm/unlockkey']);
const MAX_BODY = 16 * 1024 * 1024;

/** GET /services/{id}/logs and /tasks/{id}/logs: streams, served by any manager. */
export function isLogPath(path: string): boolean {
  return /^\/(services|tasks)\/[^/]+\/logs$/.test(path);
}

export function isControlPath(path: string): boolean {
  if (SWARM_CONTROL.has(path)) return true;
  return path.startsWith('/distribution/') || PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

function send(reply: FastifyReply, status: number, headers: Record<string, string>, body: string): void {
  const raw = reply.raw;
  const h: Record<string, string> = { ...COMMON_HEADERS, ...headers };
  if (body !== '' && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  h['Content-Length'] = String(Buffer.byteLength(body));
  raw.writeHead(status, h);
  raw.end(body);
}

function readBody(req: FastifyRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.raw.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.raw.destroy();
        return;
      }
      parts.push(c);
    });
    req.raw.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.raw.on('error', reject);
  });
}

export function controlGateway(deps: ControlGatewayDeps): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onRequest', async (req, reply) => {
      const path = (req.url.split('?')[0] ?? '/').replace(/\/+$/, '') || '/';
      if (!isControlPath(path)) return;
      const t = deps.target();
      if (t.kind === 'refuse') {
        if (path.startsWith('/distribution/')) return; // any engine may answer /distribution (when it can)
        reply.hijack();
        send(reply, t.status, { 'Content-Type': 'application/json' }, JSON.stringify({ message: t.message }));
        return;
      }
      reply.hijack();
      if (t.kind === 'local') {
        t.app.routing(req.raw, reply.raw);
        return;
      }
      if (t.localApp && req.method === 'GET' && isLogPath(path)) {
        t.localApp.routing(req.raw, reply.raw);
        return;
      }
      try {
        const body = await readBody(req);
        const ct = req.headers['content-type'];
        const r = await t.forward({ method: req.method, url: req.url, ...(typeof ct === 'string' ? { contentType: ct } : {}), body });
        send(reply, r.status, r.headers, r.body);
      } catch (e) {
        send(reply, 503, { 'Content-Type': 'application/json' }, JSON.stringify({ message: (e as Error).message }));
      }
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
