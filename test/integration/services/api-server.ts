/**
 * A small Docker-API server for service tests: `serviceRoutes` over a SimCluster's store, plus the few
 * routes the docker CLI also calls around services (/_ping, /nodes, /nodes/{id}) — in shoald those come
 * from the engine and the CLUSTER side.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { generateKeyPairSync } from 'node:crypto';
import { serviceRoutes } from '../../../manager/controlapi/service-routes.js';
import { configRoutes, secretRoutes } from '../../../manager/controlapi/secret-routes.js';
import { SecretKeyring } from '../../../manager/controlapi/secret-keyring.js';
import type { LogSource } from '../../../manager/controlapi/service-logs.js';
import { stripVersion } from '../../../worker/engine/api/version-prefix.js';
import type { ReplicatedStore } from '../../../manager/store/index.js';

/** A keyring for the simulated manager 'manager' with a fresh P-256 key (as a manager's TLS key). */
export function testKeyring(store: ReplicatedStore, nodeId = 'manager'): SecretKeyring {
  return new SecretKeyring({ nodeId, privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, store });
}

export function buildServiceApi(store: ReplicatedStore, opts: { keyring?: SecretKeyring; logs?: LogSource } = {}): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true, rewriteUrl: (req) => stripVersion(req.url ?? '/').url });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('Api-Version', '1.45');
    reply.header('Ostype', 'linux');
    reply.header('Swarm', 'active/manager');
    return payload;
  });
  const ping = async () => 'OK';
  app.get('/_ping', ping);
  const renderNode = (n: ReturnType<typeof store.view<unknown>> & { Meta: { Version: unknown; CreatedAt: string; UpdatedAt: string } }) => {
    const { Meta, ...rest } = n as unknown as Record<string, unknown> & { Meta: { Version: unknown; CreatedAt: string; UpdatedAt: string } };
    return { ...rest, Version: Meta.Version, CreatedAt: Meta.CreatedAt, UpdatedAt: Meta.UpdatedAt };
  };
  app.get('/nodes', async () => store.view((tx) => tx.find('nodes').map((n) => renderNode(n as never))));
  app.get('/nodes/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const n = store.view((tx) => tx.get('nodes', id));
    if (!n) return reply.status(404).header('Content-Type', 'application/json').send(JSON.stringify({ message: `node ${id} not found` }));
    return renderNode(n as never);
  });
  void app.register(serviceRoutes({ store, ...(opts.logs ? { logs: opts.logs } : {}) }));
  void app.register(secretRoutes({ store, keyring: opts.keyring ?? testKeyring(store) }));
  void app.register(configRoutes({ store }));
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).header('Content-Type', 'application/json').send(JSON.stringify({ message: `page not found: ${req.method} ${req.url}` }));
  });
  return app;
}
