/** Network endpoints (E3's NetworkManager): create, list, inspect, remove, connect, disconnect, prune. */
import type { FastifyPluginAsync } from 'fastify';
import { badRequest, notImplemented } from './errors.js';
import { anyMatch, labelsMatch, parseFilters } from './filters.js';
import type { EngineApiDeps } from './ports.js';
import { bodyObject, qString } from './query.js';
import { isRecord, need, param, query, str } from './route-helpers.js';

const LIST_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'] as const;
const BUILTIN = new Set(['bridge', 'host', 'none']);

/** Drivers this engine creates; overlay needs a swarm. */
export function checkNetworkDriver(body: Record<string, unknown>): void {
  const driver = str(body['Driver'], 'bridge') || 'bridge';
  if (driver === 'overlay') throw badRequest('overlay networks need a swarm: this node is not a swarm manager (use "shoal swarm init" or "shoal swarm join" first)');
  if (driver !== 'bridge') throw badRequest(`network driver ${driver} is not supported (this engine creates bridge networks)`);
  if (typeof body['Name'] !== 'string' || body['Name'] === '') throw badRequest('network name is required (Name)');
}

export function networkRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.post('/networks/create', async (req, reply) => {
      const nm = need(deps.networks, 'networks');
      const body = bodyObject(req.body);
      checkNetworkDriver(body);
      const rec = await nm.create(body);
      const id = isRecord(rec) ? str(rec['Id']) : '';
      deps.events.publish({ Type: 'network', Action: 'create', Actor: { ID: id, Attributes: { name: str(body['Name']), type: 'bridge' } } });
      return reply.status(201).send({ Id: id, Warning: '' });
    });
    app.get('/networks', async (req) => {
      const nm = need(deps.networks, 'networks');
      const f = parseFilters(query(req)['filters'], LIST_FILTERS);
      return nm.list().filter((n) => {
        if (!isRecord(n)) return false;
        const id = str(n['Id']);
        const name = str(n['Name']);
        const containers = isRecord(n['Containers']) ? Object.keys(n['Containers']).length : 0;
        return (
          anyMatch(f, 'id', (v) => id.startsWith(v)) &&
          anyMatch(f, 'name', (v) => name.includes(v)) &&
          anyMatch(f, 'driver', (v) => str(n['Driver']) === v) &&
          anyMatch(f, 'scope', (v) => str(n['Scope']) === v) &&
          anyMatch(f, 'type', (v) => (v === 'builtin' ? BUILTIN.has(name) : v === 'custom' ? !BUILTIN.has(name) : false)) &&
          anyMatch(f, 'dangling', (v) => (v === 'true' || v === '1') === (containers === 0 && !BUILTIN.has(name))) &&
          labelsMatch(isRecord(n['Labels']) ? (n['Labels'] as Record<string, string>) : {}, f.get('label'))
        );
      });
    });
    app.get('/networks/:id', async (req) => need(deps.networks, 'networks').inspect(param(req, 'id')));
    app.delete('/networks/:id', async (req, reply) => {
      const nm = need(deps.networks, 'networks');
      const rec = nm.inspect(param(req, 'id'));
      await nm.remove(param(req, 'id'));
      if (isRecord(rec)) deps.events.publish({ Type: 'network', Action: 'destroy', Actor: { ID: str(rec['Id']), Attributes: { name: str(rec['Name']), type: str(rec['Driver']) } } });
      return reply.status(204).send();
    });
    app.post('/networks/:id/connect', async (req, reply) => {
      if (!deps.connect) throw notImplemented('connecting containers');
      const body = bodyObject(req.body);
      const container = str(body['Container']);
      if (container === '') throw badRequest('Container is required');
      await deps.connect(param(req, 'id'), container, body['EndpointConfig']);
      return reply.status(200).send();
    });
    app.post('/networks/:id/disconnect', async (req, reply) => {
      if (!deps.disconnect) throw notImplemented('disconnecting containers');
      const body = bodyObject(req.body);
      const container = str(body['Container']);
      if (container === '') throw badRequest('Container is required');
      await deps.disconnect(param(req, 'id'), container, body['Force'] === true);
      return reply.status(200).send();
    });
    app.post('/networks/prune', async (req) => {
      const nm = need(deps.networks, 'networks');
      parseFilters(qString(query(req), 'filters'), ['until', 'label']);
      return nm.prune();
    });
  };
}
