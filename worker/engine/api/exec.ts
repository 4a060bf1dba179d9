/** Exec endpoints: create, start (plain or detached; the hijacked form is in hijack.ts), inspect, resize. */
import type { FastifyPluginAsync } from 'fastify';
import { badRequest } from './errors.js';
import type { EngineApiDeps } from './ports.js';
import { bodyObject, qInt } from './query.js';
import { isRecord, need, param, query, startStream, str } from './route-helpers.js';
import { execTty, MUX_STREAM, pumpOutput, RAW_STREAM } from './streams.js';

export function execRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.post('/containers/:id/exec', async (req, reply) => {
      const containers = need(deps.containers, 'containers');
      const body = bodyObject(req.body);
      const cmd = body['Cmd'];
      if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((x) => typeof x === 'string')) throw badRequest('No exec command specified (Cmd must be a non-empty list of strings)');
      const r = await containers.execCreate(param(req, 'id'), body);
      const id = typeof r === 'string' ? r : isRecord(r) ? str(r['Id'], str(r['id'])) : '';
      return reply.status(201).send({ Id: id });
    });
    app.post('/exec/:id/start', async (req, reply) => {
      const containers = need(deps.containers, 'containers');
      const body = bodyObject(req.body, true);
      const id = param(req, 'id');
      const tty = body['Tty'] === true || execTty(containers, id);
      if (body['Detach'] === true) {
        await containers.execStart(id, { tty, detach: true });
        return reply.status(200).send();
      }
      const session = await containers.execStart(id, { tty, detach: false });
      const out = startStream(req, reply, tty ? RAW_STREAM : MUX_STREAM);
      pumpOutput(session.output, out, tty).then(
        () => out.end(),
        () => out.end(),
      );
      return reply;
    });
    app.get('/exec/:id/json', async (req) => need(deps.containers, 'containers').execInspect(param(req, 'id')));
    app.post('/exec/:id/resize', async (req, reply) => {
      const containers = need(deps.containers, 'containers');
      const q = query(req);
      const id = param(req, 'id');
      containers.execInspect(id);
      if (containers.execResize) await containers.execResize(id, qInt(q, 'h') ?? 0, qInt(q, 'w') ?? 0);
      return reply.status(200).send();
    });
  };
}
