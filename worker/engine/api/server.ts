/**
 * The engine's REST API: one fastify instance with a plugin per area, Docker Engine API paths with and
 * without the `/vX.Y` prefix, Docker's error format, and the hijacked (101 Upgrade) attach/exec
 * conversations handled on the HTTP server's `upgrade` event.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { ApiError, errorBody, toApiError } from './errors.js';
import { buildRoutes } from './build-route.js';
import { containerRoutes } from './containers.js';
import { eventRoutes } from './events-route.js';
import { containerFileRoutes } from './container-files.js';
import { execRoutes } from './exec.js';
import { handleUpgrade } from './hijack.js';
import { imageRoutes } from './images.js';
import { networkRoutes } from './networks.js';
import { registryRoutes } from './registry-routes.js';
import type { EngineApiDeps } from './ports.js';
import { COMMON_HEADERS, stripVersion } from './version-prefix.js';

export { COMMON_HEADERS };
import { systemRoutes } from './system.js';
import { volumeRoutes } from './volumes.js';

export interface ApiLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface BuildApiOptions {
  log?: ApiLogger;
  /** extra route plugins (e.g. the swarm's /swarm, /nodes, /services) registered after the engine's routes */
  plugins?: FastifyPluginAsync[];
}

export function buildApi(deps: EngineApiDeps, opts: BuildApiOptions = {}): FastifyInstance {
  let httpServer: Server | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024 * 1024,
    forceCloseConnections: true,
    rewriteUrl: (req) => stripVersion(req.url ?? '/').url,
    serverFactory: (handler) => {
      const s = createServer(handler);
      s.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        handleUpgrade(deps, req, socket, head).catch((e: unknown) => {
          opts.log?.warn({ err: (e as Error).message, url: req.url }, 'hijack failed');
          socket.destroy();
        });
      });
      httpServer = s;
      return s;
    },
  });
  void httpServer;

  // JSON bodies: empty → undefined; malformed → 400 naming the problem.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (e) {
      done(new ApiError(400, `invalid JSON in request body: ${(e as Error).message}`), undefined);
    }
  });
  // Anything else (tar archives, text/plain attach requests): the handler gets the raw stream.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(COMMON_HEADERS)) if (!reply.hasHeader(k)) reply.header(k, v);
    // exactly "application/json" on errors: the docker CLI decodes `{"message"}` only for that type
    if (reply.statusCode >= 400 && String(reply.getHeader('content-type') ?? '').startsWith('application/json')) reply.header('Content-Type', 'application/json');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    opts.log?.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler((err, _req, reply) => {
    const e = toApiError(err);
    if (e.status >= 500) opts.log?.error({ err: e.message, cause: String((e.cause as Error | undefined)?.stack ?? '') }, 'request failed');
    // exactly "application/json" (no charset): the docker CLI only decodes error bodies of that type
    void reply.status(e.status).header('Content-Type', 'application/json').send(JSON.stringify(errorBody(e)));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).header('Content-Type', 'application/json').send(JSON.stringify({ message: `page not found: ${req.method} ${req.url}` }));
  });

  void app.register(systemRoutes(deps));
  void app.register(eventRoutes(deps));
  void app.register(networkRoutes(deps));
  void app.register(volumeRoutes(deps));
  void app.register(registryRoutes(deps)); // before imageRoutes: claims POST /images/create?fromImage= and /images/*/push
  void app.register(imageRoutes(deps));
  void app.register(buildRoutes(deps));
  void app.register(containerRoutes(deps));
  void app.register(containerFileRoutes(deps));
  void app.register(execRoutes(deps));
  for (const plugin of opts.plugins ?? []) void app.register(plugin);
  return app;
}

/** Listens on a unix socket path (mode 0660); returns the bound path. */
export async function listenUnix(app: FastifyInstance, path: string): Promise<string> {
  await app.listen({ path });
  const { chmod } = await import('node:fs/promises');
  await chmod(path, 0o660);
  return path;
}
