/**
 * Files of a container through Docker's endpoints: `docker cp` (HEAD/GET/PUT /containers/{id}/archive,
 * the path's stat in X-Docker-Container-Path-Stat as base64 JSON), `docker export`
 * (GET /containers/{id}/export) and `docker rename` (POST /containers/{id}/rename?name=).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { badRequest, notImplemented } from './errors.js';
import type { ContainerPort, EngineApiDeps } from './ports.js';
import { qBool, qString } from './query.js';
import { need, param, query } from './route-helpers.js';

export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathOf(req: FastifyRequest): string {
  const p = qString(query(req), 'path');
  if (p === undefined || p === '') throw badRequest('path: a path inside the container is required');
  return p;
}

function statHeader(stat: unknown): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

function bodyStream(req: FastifyRequest): Readable {
  const b = req.body as unknown;
  if (b && typeof (b as Readable).pipe === 'function') return b as Readable;
  return req.raw;
}

export function containerFileRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  const c = (): ContainerPort => need(deps.containers, 'containers');
  const must = <K extends 'statPath' | 'getArchive' | 'putArchive' | 'export' | 'rename'>(k: K, what: string): NonNullable<ContainerPort[K]> => {
    const fn = c()[k];
    if (!fn) throw notImplemented(what);
    return fn.bind(c()) as NonNullable<ContainerPort[K]>;
  };
  return async (app) => {
    app.head('/containers/:id/archive', async (req, reply) => {
      const stat = await must('statPath', 'docker cp')(param(req, 'id'), pathOf(req));
      return reply.status(200).header(PATH_STAT_HEADER, statHeader(stat)).send();
    });
    app.get('/containers/:id/archive', async (req, reply) => {
      const { stat, stream } = await must('getArchive', 'docker cp')(param(req, 'id'), pathOf(req));
      return reply.status(200).header('Content-Type', 'application/x-tar').header(PATH_STAT_HEADER, statHeader(stat)).send(stream);
    });
    app.put('/containers/:id/archive', async (req, reply) => {
      const q = query(req);
      void qBool(q, 'noOverwriteDirNonDir');
      await must('putArchive', 'docker cp')(param(req, 'id'), pathOf(req), bodyStream(req));
      return reply.status(200).send();
    });
    app.get('/containers/:id/export', async (req, reply) => {
      const stream = await must('export', 'docker export')(param(req, 'id'));
      return reply.status(200).header('Content-Type', 'application/x-tar').send(stream);
    });
    app.post('/containers/:id/rename', async (req, reply) => {
      const name = qString(query(req), 'name');
      if (name === undefined || name === '') throw badRequest('name: the new container name is required');
      await must('rename', 'docker rename')(param(req, 'id'), name);
      return reply.status(204).send();
    });
  };
}
