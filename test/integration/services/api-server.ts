/**
 * A small Docker-API server for service tests: `serviceRoutes` over a SimCluster's store, plus the few
 * routes the docker CLI also calls around services (/_ping, /nodes, /nodes/{id}) — in shoald those come
 * from the engine and the CLUSTER side.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { serviceRoutes } from '../../../manager/controlapi/service-routes.js';
import { configRoutes, secretRoutes } from '../../../manager/controlapi/secret-routes.js';
import { SecretKeyring } from '../../../manager/controlapi/secret-keyring.js';
import type { LogSource } from '../../../manager/controlapi/service-logs.js';
import { stripVersion } from '../../../worker/engine/api/version-prefix.js';
import { generateId, type ReplicatedStore } from '../../../manager/store/index.js';

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
  // swarm-scope networks over the store (CLUSTER/overlay own the real ones; enough for stack tests)
  const renderNet = (n: { ID: string; Meta: { CreatedAt: string }; Spec: { Name: string; Labels?: Record<string, string>; DriverConfiguration?: { Name: string }; Attachable?: boolean; Internal?: boolean } }) => ({
    Name: n.Spec.Name, Id: n.ID, Created: n.Meta.CreatedAt, Scope: 'swarm', Driver: n.Spec.DriverConfiguration?.Name ?? 'overlay',
    Internal: n.Spec.Internal ?? false, Attachable: n.Spec.Attachable ?? false, Labels: n.Spec.Labels ?? {}, Options: {}, IPAM: { Driver: 'default', Config: [] }, Containers: {},
  });
  app.post('/networks/create', async (req, reply) => {
    const b = req.body as { Name: string; Driver?: string; Labels?: Record<string, string>; Attachable?: boolean; Internal?: boolean };
    const id = generateId((k) => randomBytes(k));
    try {
      await store.update((tx) => tx.create('networks', { ID: id, Spec: { Name: b.Name, Labels: b.Labels ?? {}, DriverConfiguration: { Name: b.Driver || 'overlay' }, Attachable: b.Attachable ?? false, Internal: b.Internal ?? false, Scope: 'swarm' } }));
    } catch (e) {
      return reply.status(409).header('Content-Type', 'application/json').send(JSON.stringify({ message: (e as Error).message }));
    }
    return reply.status(201).send({ Id: id, Warning: '' });
  });
  app.get('/networks', async (req) => {
    const f = (req.query as { filters?: string }).filters;
    const filters = f ? (JSON.parse(f) as Record<string, Record<string, boolean> | string[]>) : {};
    const vals = (k: string) => (filters[k] ? (Array.isArray(filters[k]) ? (filters[k] as string[]) : Object.keys(filters[k]!)) : undefined);
    return store.view((tx) => tx.find('networks')).filter((n) => {
      const names = vals('name');
      if (names && !names.some((x) => n.Spec.Name.includes(x))) return false;
      const labels = vals('label');
      if (labels && !labels.every((l) => { const [k, v] = l.split('=', 2) as [string, string | undefined]; return n.Spec.Labels?.[k] !== undefined && (v === undefined || n.Spec.Labels[k] === v); })) return false;
      return true;
    }).map(renderNet);
  });
  app.get('/networks/:id', async (req, reply) => {
    try {
      return renderNet(store.view((tx) => tx.lookup('networks', (req.params as { id: string }).id)));
    } catch {
      return reply.status(404).header('Content-Type', 'application/json').send(JSON.stringify({ message: `network ${(req.params as { id: string }).id} not found` }));
    }
  });
  app.delete('/networks/:id', async (req, reply) => {
    await store.update((tx) => tx.delete('networks', tx.lookup('networks', (req.params as { id: string }).id).ID));
    return reply.status(204).send();
  });
  app.get('/info', async () => ({ ID: 'test', Name: 'test', ServerVersion: '28.2.2', Swarm: { NodeID: 'manager', NodeAddr: '127.0.0.1', LocalNodeState: 'active', ControlAvailable: true, Error: '', RemoteManagers: null, Nodes: 1, Managers: 1, Cluster: { ID: 'cluster000000000000000001' } } }));
  void app.register(serviceRoutes({ store, ...(opts.logs ? { logs: opts.logs } : {}) }));
  void app.register(secretRoutes({ store, keyring: opts.keyring ?? testKeyring(store) }));
  void app.register(configRoutes({ store }));
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).header('Content-Type', 'application/json').send(JSON.stringify({ message: `page not found: ${req.method} ${req.url}` }));
  });
  return app;
}
