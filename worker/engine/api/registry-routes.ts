/**
 * Registry endpoints: `POST /images/{name}/push`, `POST /images/create?fromImage=` (pull, with
 * `X-Registry-Auth` and `platform`) and `POST /auth` (docker login). Image names contain "/" and ":",
 * and the images plugin owns the `/images/*` wildcard, so pull and push are claimed in an onRequest
 * hook of this (non-encapsulated) plugin, registered before the images plugin. The stream starts
 * with the first progress line: an error before it (missing tag, refused credentials, unreachable
 * registry) is an HTTP error with `{"message"}`, as dockerd answers. Credentials are never logged.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { authFromObject, decodeRegistryAuth, type RegistryAuth } from '../image/auth-config.js';
import { ImageError } from '../image/errors.js';
import { pullImage } from '../image/image-pull.js';
import { pushImage } from '../image/image-push.js';
import { ImageStore } from '../image/image-store.js';
import { parseRef } from '../image/reference.js';
import { RegistryClient, isInsecureHost } from '../image/registry-client.js';
import { ApiError, badRequest, toApiError } from './errors.js';
import { jsonError, jsonLine } from './jsonmessage.js';
import type { EngineApiDeps } from './ports.js';
import { isRecord } from './route-helpers.js';
import { COMMON_HEADERS } from './version-prefix.js';

/** A jsonmessage stream whose 200 headers go out with the first line; `fail` before that answers an HTTP error. */
class LazyStream {
  private res: ServerResponse | undefined;
  constructor(private readonly reply: FastifyReply) {
    reply.hijack();
  }
  private open(): ServerResponse {
    if (this.res === undefined) {
      const res = this.reply.raw;
      res.on('error', () => undefined);
      res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
      this.res = res;
    }
    return this.res;
  }
  write(m: Record<string, unknown>): void {
    this.open().write(`${JSON.stringify(m)}\n`);
  }
  end(): void {
    this.open().end();
  }
  fail(e: unknown): void {
    const err = toApiError(e);
    if (this.res !== undefined) {
      this.res.end(jsonLine(jsonError(err.message)));
      return;
    }
    const raw = this.reply.raw;
    raw.writeHead(err.status, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
    raw.end(JSON.stringify({ message: err.message }));
  }
}

function storeOf(deps: EngineApiDeps): ImageStore {
  if (!(deps.images instanceof ImageStore)) throw new ApiError(501, 'registry pull and push need the engine image store');
  return deps.images;
}

function queryOf(url: string): { path: string; q: URLSearchParams } {
  const u = new URL(url, 'http://engine');
  return { path: decodeURIComponent(u.pathname), q: u.searchParams };
}

/** "repo" + "tag" as docker sends them for pull (fromImage may already carry a tag or digest). */
function pullRef(fromImage: string, tag: string | null): string {
  const lastSlash = fromImage.lastIndexOf('/');
  if (fromImage.includes('@') || fromImage.lastIndexOf(':') > lastSlash) return fromImage;
  if (tag !== null && tag !== '') return tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
  return `${fromImage}:latest`;
}

function validRef(ref: string, field: string): string {
  try {
    parseRef(ref);
    return ref;
  } catch (e) {
    throw badRequest(`${field}: ${(e as Error).message}`);
  }
}

async function handlePull(deps: EngineApiDeps, req: FastifyRequest, reply: FastifyReply, q: URLSearchParams): Promise<void> {
  const store = storeOf(deps);
  const ref = validRef(pullRef(q.get('fromImage') ?? '', q.get('tag')), 'fromImage');
  const auth = decodeRegistryAuth(req.headers['x-registry-auth']);
  const platform = q.get('platform') ?? undefined;
  const out = new LazyStream(reply);
  try {
    const img = await pullImage(store, ref, (m) => out.write(m), { ...(auth !== undefined ? { auth } : {}), ...(platform ? { platform } : {}), ...(deps.insecureRegistries !== undefined ? { insecureRegistries: deps.insecureRegistries } : {}) });
    deps.events.publish({ Type: 'image', Action: 'pull', Actor: { ID: img.id, Attributes: { name: ref } } });
    out.end();
  } catch (e) {
    out.fail(e);
  }
}

async function handlePush(deps: EngineApiDeps, req: FastifyRequest, reply: FastifyReply, name: string, q: URLSearchParams): Promise<void> {
  const store = storeOf(deps);
  validRef(name, 'name');
  const tag = q.get('tag') ?? undefined;
  if (tag !== undefined && tag !== '' && !/^[\w][\w.-]{0,127}$/.test(tag)) throw badRequest(`tag: "${tag}" is not a valid tag`);
  const auth = decodeRegistryAuth(req.headers['x-registry-auth']);
  const out = new LazyStream(reply);
  try {
    const pushed = await pushImage(store, name, tag, (m) => out.write(m), { ...(auth !== undefined ? { auth } : {}), ...(deps.insecureRegistries !== undefined ? { insecureRegistries: deps.insecureRegistries } : {}) });
    for (const p of pushed) deps.events.publish({ Type: 'image', Action: 'push', Actor: { ID: `${parseRef(name).name}:${p.tag}`, Attributes: { name: `${parseRef(name).name}:${p.tag}` } } });
    out.end();
  } catch (e) {
    out.fail(e);
  }
}

/** "127.0.0.1:5000", "http://localhost:5000/", "https://index.docker.io/v1/" → the registry's base URL. */
export function registryBase(serverAddress: string, insecure: readonly string[] = []): string {
  const s = serverAddress.trim();
  const m = /^(https?):\/\/([^/]+)/.exec(s);
  const host = m !== null ? m[2]! : s.split('/')[0]!;
  if (host === '' || !/^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) throw badRequest(`serveraddress: "${serverAddress}" is not a registry host`);
  if (host === 'index.docker.io' || host === 'docker.io') return 'https://registry-1.docker.io';
  const scheme = m !== null ? m[1]! : isInsecureHost(host, insecure) ? 'http' : 'https';
  return `${scheme}://${host}`;
}

/** Checks credentials against the registry (`/v2/` with Basic, or the token flow). */
export async function checkLogin(auth: RegistryAuth, serverAddress: string, insecure: readonly string[] = []): Promise<void> {
  const client = new RegistryClient({ base: registryBase(serverAddress, insecure), repository: '', reference: '' }, { auth, timeoutMs: 15_000 });
  await client.ping();
}

export function registryRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onRequest', async (req, reply) => {
      if (req.method !== 'POST' || !req.url.startsWith('/images/')) return;
      const { path, q } = queryOf(req.url);
      if (path === '/images/create') {
        if (q.get('fromImage') === null || q.get('fromSrc') !== null) return; // imports stay with the images plugin
        await handlePull(deps, req, reply, q);
        return reply;
      }
      const m = /^\/images\/(.+)\/push$/.exec(path);
      if (m === null) return;
      await handlePush(deps, req, reply, m[1]!, q);
      return reply;
    });
    app.post('/auth', async (req) => {
      const body: unknown = req.body;
      if (!isRecord(body)) throw badRequest('request body must be a JSON object with username, password and serveraddress');
      const auth = authFromObject(body);
      if (auth === undefined) throw badRequest('username: required (or identitytoken)');
      const server = typeof body['serveraddress'] === 'string' && body['serveraddress'] !== '' ? body['serveraddress'] : 'https://index.docker.io/v1/';
      try {
        await checkLogin(auth, server, deps.insecureRegistries);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        const msg = e instanceof ImageError ? e.message : String(e);
        throw new ApiError(/did not answer|token from/.test(msg) ? 500 : 401, msg);
      }
      return { Status: 'Login Succeeded', IdentityToken: '' };
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
