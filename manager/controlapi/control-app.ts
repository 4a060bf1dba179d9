/**
 * The control API of one manager: a fastify instance (never listening itself) with the swarm, node and
 * service routes — and whatever other control plugins are given (secrets, configs, logs) — over this
 * manager's store. The engine API hands it the requests for control paths (control-gateway.ts) when
 * this manager leads; a follower's gateway forwards them to the leader, whose Control service injects
 * them here. Same error shape, version prefixes and headers as the engine API.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { UnlockKeyVault } from '../node/unlock-key-vault.js';
import type { ReplicatedStore } from '../store/index.js';
import { COMMON_HEADERS, stripVersion } from '../../worker/engine/api/version-prefix.js';
import { ControlError, toControlError } from './control-error.js';
import { networkRoutes } from './network-routes.js';
import { nodeRoutes } from './node-routes.js';
import type { LogSource } from './service-logs.js';
import { serviceRoutes } from './service-routes.js';
import { swarmRoutes } from './swarm-routes.js';

export interface ControlAppDeps {
  store: ReplicatedStore;
  voters: () => { id: number; reachable: boolean }[];
  /** service and task logs (the manager's log broker) */
  logs?: LogSource;
  /** more control plugins over the same store (secrets, configs, service/task logs) */
  plugins?: FastifyPluginAsync[];
  log?: { error(obj: Record<string, unknown>, msg?: string): void };
  /** autolock: seals and opens the unlock key in the cluster object */
  unlockKeys?: UnlockKeyVault;
}

export async function buildControlApp(deps: ControlAppDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, rewriteUrl: (req) => stripVersion(req.url ?? '/').url });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (e) {
      done(new ControlError(400, `invalid JSON in request body: ${(e as Error).message}`), undefined);
    }
  });
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(COMMON_HEADERS)) if (!reply.hasHeader(k)) reply.header(k, v);
    if (reply.statusCode >= 400 && String(reply.getHeader('content-type') ?? '').startsWith('application/json')) reply.header('Content-Type', 'application/json');
    return payload;
  });
  app.setErrorHandler((err, _req, reply) => {
    const e = toControlError(err);
    if (e.status >= 500 && e.status !== 503) deps.log?.error({ err: e.message }, 'control request failed');
    void reply.status(e.status).header('Content-Type', 'application/json').send(JSON.stringify({ message: e.message }));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).header('Content-Type', 'application/json').send(JSON.stringify({ message: `page not found: ${req.method} ${req.url}` }));
  });
  await app.register(swarmRoutes({ store: deps.store, ...(deps.unlockKeys ? { unlockKeys: deps.unlockKeys } : {}) }));
  await app.register(nodeRoutes({ store: deps.store, voters: deps.voters }));
  await app.register(serviceRoutes({ store: deps.store, ...(deps.logs ? { logs: deps.logs } : {}) }));
  await app.register(networkRoutes({ store: deps.store }));
  for (const p of deps.plugins ?? []) await app.register(p);
  await app.ready();
  return app;
}
