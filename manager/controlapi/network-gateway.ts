/**
 * The engine API's /networks on a swarm node, as dockerd answers them: on a manager, swarm networks (the
 * control app's, network-routes.ts — here when this manager leads, else at the leader) beside the node's
 * own local networks; on a worker or in no swarm, the local engine alone (a worker that is asked for an
 * overlay network gets Docker's "from a manager node" refusal).
 *
 *   POST /networks/create   Driver overlay → the swarm; anything else → the engine
 *   GET  /networks          engine list + swarm networks it does not hold (same filters); an engine
 *                           instance of a swarm network the swarm no longer has is left out
 *   GET  /networks/{ref}    the engine's (a local instance of a swarm network gets the swarm's Peers
 *                           and Services added), else the swarm's; ?scope=local|swarm narrows
 *   DELETE /networks/{ref}  a local network → the engine; otherwise the swarm
 *   POST /networks/prune    the engine's unused networks, then the swarm's (ingress kept)
 *
 * A root-level preHandler (bodies are parsed by then); the engine's own handlers run with the
 * `x-shoal-engine-only` header, which this gateway lets through.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ForwardRequest, ForwardResponse } from '../node/control-forward.js';
import { injectControl } from '../node/control-forward.js';
import { NOT_A_MANAGER_WORKER } from '../node/swarm-node.js';
import type { ControlTarget } from './control-gateway.js';

export const ENGINE_ONLY_HEADER = 'x-shoal-engine-only';

/** Docker's answer when a worker is asked to create a multi-host network. */
export const WORKER_OVERLAY_CREATE = 'Cannot create a multi-host network from a worker node. Please create the network from a manager node.';

export interface NetworkGatewayDeps {
  target: () => ControlTarget;
}

interface Answer {
  status: number;
  body: string;
  contentType?: string;
}

function send(reply: FastifyReply, a: Answer): FastifyReply {
  return reply.status(a.status).header('Content-Type', a.contentType ?? 'application/json').send(a.body);
}

const jsonOf = (s: string): unknown => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
};

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

async function control(t: Exclude<ControlTarget, { kind: 'refuse' }>, r: ForwardRequest): Promise<ForwardResponse> {
  if (t.kind === 'local') return injectControl(t.app, r);
  try {
    return await t.forward(r);
  } catch (e) {
    return { status: 503, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: (e as Error).message }) };
  }
}

async function engine(app: FastifyInstance, req: FastifyRequest, url: string, method = req.method): Promise<Answer> {
  const r = await app.inject({
    method: method as 'GET',
    url,
    headers: { [ENGINE_ONLY_HEADER]: '1', ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}) },
    ...(req.body !== undefined && method === 'POST' ? { payload: JSON.stringify(req.body) } : {}),
  });
  const ct = r.headers['content-type'];
  return { status: r.statusCode, body: r.body, ...(typeof ct === 'string' ? { contentType: ct } : {}) };
}

const answerOf = (r: ForwardResponse): Answer => ({ status: r.status, body: r.body, contentType: r.headers['content-type'] ?? 'application/json' });

export function networkGateway(deps: NetworkGatewayDeps): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('preHandler', async (req, reply) => {
      if (req.headers[ENGINE_ONLY_HEADER] !== undefined) return;
      const route = req.routeOptions.url ?? '';
      if (route !== '/networks' && route !== '/networks/create' && route !== '/networks/:id' && route !== '/networks/prune') return;
      const method = req.method;
      const t = deps.target();
      const url = req.url;
      const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';

      if (route === '/networks/create' && method === 'POST') {
        const body = req.body;
        const driver = isObj(body) && typeof body.Driver === 'string' && body.Driver !== '' ? body.Driver : 'bridge';
        if (driver !== 'overlay') return; // the engine's own
        if (t.kind === 'refuse') {
          if (t.message !== NOT_A_MANAGER_WORKER) return; // in no swarm: the engine explains
          return send(reply, { status: 403, body: JSON.stringify({ message: WORKER_OVERLAY_CREATE }) });
        }
        const r = await control(t, { method: 'POST', url: '/networks/create', contentType: 'application/json', body: JSON.stringify(body ?? {}) });
        return send(reply, answerOf(r));
      }
      if (t.kind === 'refuse') {
        // a worker or no swarm: local networks only, as dockerd; a worker's instance of a swarm network is the agent's
        if (route === '/networks/:id' && method === 'DELETE' && t.message === NOT_A_MANAGER_WORKER) {
          const local = await engine(app, req, `/networks/${encodeURIComponent((req.params as { id?: string }).id ?? '')}`, 'GET');
          const rec = local.status === 200 ? jsonOf(local.body) : undefined;
          if (isObj(rec) && rec.Scope === 'swarm') return send(reply, { status: 403, body: JSON.stringify({ message: `network ${String(rec.Name)} is a swarm-scoped network: remove it from a manager node` }) });
        }
        return;
      }

      if (route === '/networks' && method === 'GET') {
        const [local, swarm] = await Promise.all([engine(app, req, url), control(t, { method: 'GET', url: `/networks${query}` })]);
        if (local.status !== 200) return send(reply, local);
        if (swarm.status !== 200) return send(reply, answerOf(swarm));
        const mine = jsonOf(local.body);
        const theirs = jsonOf(swarm.body);
        if (!Array.isArray(mine) || !Array.isArray(theirs)) return send(reply, { status: 500, body: JSON.stringify({ message: 'malformed network list' }) });
        // the engine's instances of swarm networks stand for them (with their containers) while the swarm has them
        const swarmIds = new Set(theirs.filter(isObj).map((n) => n.Id));
        const kept = mine.filter((n) => isObj(n) && (n.Scope !== 'swarm' || swarmIds.has(n.Id)));
        const held = new Set(kept.filter(isObj).map((n) => n.Id));
        const merged = [...kept, ...theirs.filter((n) => isObj(n) && !held.has(n.Id))];
        return send(reply, { status: 200, body: JSON.stringify(merged) });
      }

      if (route === '/networks/prune' && method === 'POST') {
        // the node's unused local networks, then the swarm's (moby's NetworksPrune on a manager)
        const local = await engine(app, req, url);
        if (local.status !== 200) return send(reply, local);
        const swarm = await control(t, { method: 'POST', url: `/networks/prune${query}` });
        if (swarm.status !== 200) return send(reply, answerOf(swarm));
        const a = jsonOf(local.body);
        const b = jsonOf(swarm.body);
        const names = (x: unknown): unknown[] => (isObj(x) && Array.isArray(x.NetworksDeleted) ? x.NetworksDeleted : []);
        return send(reply, { status: 200, body: JSON.stringify({ NetworksDeleted: [...names(a), ...names(b)] }) });
      }

      const ref = (req.params as { id?: string }).id ?? '';
      const scope = (req.query as Record<string, string | undefined>).scope ?? '';
      if (route === '/networks/:id' && method === 'GET') {
        if (scope === 'local') return;
        const local = await engine(app, req, `/networks/${encodeURIComponent(ref)}`);
        const rec = local.status === 200 ? jsonOf(local.body) : undefined;
        const localScope = isObj(rec) ? rec.Scope : undefined;
        if (isObj(rec) && localScope === 'local' && scope !== 'swarm') return send(reply, local);
        // a swarm network: the swarm's record, with this node's containers on it when it holds an instance
        const sref = isObj(rec) && typeof rec.Id === 'string' ? rec.Id : ref;
        const r = await control(t, { method: 'GET', url: `/networks/${encodeURIComponent(sref)}${query}` });
        if (r.status !== 200) {
          if (r.status === 404 && local.status !== 404 && scope !== 'swarm') return send(reply, local);
          return send(reply, answerOf(r));
        }
        const swarmRec = jsonOf(r.body);
        if (isObj(swarmRec) && isObj(rec) && rec.Id === swarmRec.Id) swarmRec.Containers = rec.Containers ?? {};
        return send(reply, { status: 200, body: JSON.stringify(swarmRec) });
      }
      if (route === '/networks/:id' && method === 'DELETE') {
        const local = await engine(app, req, `/networks/${encodeURIComponent(ref)}`, 'GET');
        const rec = local.status === 200 ? jsonOf(local.body) : undefined;
        if (isObj(rec) && rec.Scope === 'local') return; // the engine removes its own
        const sref = isObj(rec) && typeof rec.Id === 'string' ? rec.Id : ref;
        const r = await control(t, { method: 'DELETE', url: `/networks/${encodeURIComponent(sref)}` });
        return send(reply, answerOf(r));
      }
      return;
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
