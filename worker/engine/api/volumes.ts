/** Volume endpoints (E2's VolumeStore): create, list, inspect, remove (409 while in use), prune. */
import type { FastifyPluginAsync } from 'fastify';
import { anyMatch, labelsMatch, parseFilters } from './filters.js';
import type { EngineApiDeps } from './ports.js';
import { bodyObject, qBool } from './query.js';
import { isRecord, need, param, query, str } from './route-helpers.js';

const LIST_FILTERS = ['name', 'label', 'driver', 'dangling'] as const;

function asList(v: unknown): Record<string, unknown>[] {
  const arr = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v['Volumes']) ? v['Volumes'] : [];
  return arr.filter(isRecord);
}

export function volumeRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.post('/volumes/create', async (req, reply) => {
      const vs = need(deps.volumes, 'volumes');
      const body = bodyObject(req.body, true);
      const rec = await vs.create(body);
      if (isRecord(rec)) deps.events.publish({ Type: 'volume', Action: 'create', Actor: { ID: str(rec['Name']), Attributes: { driver: str(rec['Driver'], 'local') } } });
      return reply.status(201).send(rec);
    });
    app.get('/volumes', async (req) => {
      const vs = need(deps.volumes, 'volumes');
      const f = parseFilters(query(req)['filters'], LIST_FILTERS);
      const all = asList(await vs.list());
      const volumes = all.filter(
        (v) =>
          anyMatch(f, 'name', (x) => str(v['Name']).includes(x)) &&
          anyMatch(f, 'driver', (x) => str(v['Driver'], 'local') === x) &&
          labelsMatch(isRecord(v['Labels']) ? (v['Labels'] as Record<string, string>) : {}, f.get('label')) &&
          anyMatch(f, 'dangling', (x) => {
            const refs = isRecord(v['UsageData']) ? v['UsageData']['RefCount'] : undefined;
            return typeof refs !== 'number' || (x === 'true' || x === '1') === (refs === 0);
          }),
      );
      return { Volumes: volumes, Warnings: [] };
    });
    app.get('/volumes/:name', async (req) => need(deps.volumes, 'volumes').inspect(param(req, 'name')));
    app.delete('/volumes/:name', async (req, reply) => {
      const vs = need(deps.volumes, 'volumes');
      const name = param(req, 'name');
      await vs.remove(name, { force: qBool(query(req), 'force') });
      deps.events.publish({ Type: 'volume', Action: 'destroy', Actor: { ID: name, Attributes: { driver: 'local' } } });
      return reply.status(204).send();
    });
    app.post('/volumes/prune', async (req) => {
      const vs = need(deps.volumes, 'volumes');
      const f = parseFilters(query(req)['filters'], ['label', 'all']);
      const all = (f.get('all') ?? []).some((v) => v === 'true' || v === '1');
      const label = f.get('label');
      const r = await vs.prune({ all, ...(label ? { label } : {}) });
      for (const name of r.VolumesDeleted) deps.events.publish({ Type: 'volume', Action: 'destroy', Actor: { ID: name, Attributes: { driver: 'local' } } });
      return { VolumesDeleted: r.VolumesDeleted, SpaceReclaimed: r.SpaceReclaimed };
    });
  };
}
