/** `GET /events`: history since `since`, then live events until `until` or the client leaves; JSON lines. */
import type { FastifyPluginAsync } from 'fastify';
import { badRequest } from './errors.js';
import { EVENT_FILTER_KEYS, parseEventTime, type EventQuery } from '../events.js';
import { parseFilters } from './filters.js';
import type { EngineApiDeps } from './ports.js';
import { qString } from './query.js';
import { clientGone, query, startStream } from './route-helpers.js';

export function parseEventQuery(q: Record<string, unknown>): EventQuery {
  const out: EventQuery = { filters: parseFilters(q['filters'], EVENT_FILTER_KEYS) };
  for (const key of ['since', 'until'] as const) {
    const raw = qString(q, key);
    if (raw === undefined || raw === '') continue;
    const t = parseEventTime(raw);
    if (t === undefined) throw badRequest(`invalid value for ${key}: ${raw} (unix seconds or an RFC 3339 time)`);
    if (key === 'since') out.sinceNano = t;
    else out.untilNano = t;
  }
  if (out.sinceNano !== undefined && out.untilNano !== undefined && out.untilNano < out.sinceNano) throw badRequest('until must not be before since');
  return out;
}

export function eventRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/events', async (req, reply) => {
      const q = parseEventQuery(query(req));
      const gone = clientGone(reply);
      const out = startStream(req, reply, 'application/json');
      void (async () => {
        try {
          for await (const e of deps.events.stream(q, gone)) {
            if (!out.write(`${JSON.stringify(e)}\n`)) await new Promise((r) => out.once('drain', r));
          }
        } finally {
          out.end();
        }
      })();
      return reply;
    });
  };
}
