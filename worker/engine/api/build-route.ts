/**
 * `POST /build` (the classic builder the docker CLI uses with DOCKER_BUILDKIT=0, and dockerode's
 * buildImage) and `POST /build/prune` (docker builder prune). The context is read whole and the
 * Dockerfile parsed before the stream starts, so a bad context or a Dockerfile syntax error is an
 * HTTP 400 with `{"message"}`; after that, progress and errors are Docker's build jsonmessages.
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { authFromObject, type RegistryAuth } from '../image/auth-config.js';
import { goArch } from '../image/image-import.js';
import { ImageStore } from '../image/image-store.js';
import { normalizeRef, parseRef } from '../image/reference.js';
import { buildImagesOf } from '../build/build-images.js';
import { BuildError } from '../build/build-error.js';
import { openContext, type BuildContext } from '../build/build-context.js';
import { planBuild, runBuild, type BuildOptions } from '../build/build-executor.js';
import { BuildStore } from '../build/build-store.js';
import { DockerfileError } from '../build/dockerfile-error.js';
import { STEP_LABEL, stepContainers } from '../build/step-containers.js';
import { ApiError, badRequest, toApiError } from './errors.js';
import { jsonError, jsonLine, type JsonMessage } from './jsonmessage.js';
import type { EngineApiDeps } from './ports.js';
import { qBool, qList, qString } from './query.js';
import { clientGone, isRecord, query, startStream } from './route-helpers.js';

const stores = new Map<string, Promise<BuildStore>>();

/** One build store per data root, opened on first use. */
function buildStoreOf(dataRoot: string): Promise<BuildStore> {
  let s = stores.get(dataRoot);
  if (s === undefined) {
    s = BuildStore.open(join(dataRoot, 'build'));
    s.catch(() => stores.delete(dataRoot));
    stores.set(dataRoot, s);
  }
  return s;
}

function jsonParam(q: Record<string, unknown>, key: string): Record<string, unknown> {
  const raw = qString(q, key);
  if (raw === undefined || raw === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw badRequest(`${key}: invalid JSON: ${(e as Error).message}`);
  }
  if (v === null) return {};
  if (!isRecord(v)) throw badRequest(`${key}: a JSON object is expected`);
  return v;
}

function stringMap(v: Record<string, unknown>, key: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, val] of Object.entries(v)) {
    if (val === null) continue; // "take it from the client's environment": the CLI has already done so
    if (typeof val !== 'string') throw badRequest(`${key}: the value of ${k} must be a string`);
    m.set(k, val);
  }
  return m;
}

/** "myimg" → "myimg:latest" (what "Successfully tagged" prints); a bad name is a 400 naming `t`. */
function tagOf(t: string): string {
  let n: string;
  try {
    n = normalizeRef(t);
  } catch (e) {
    throw badRequest(`t: invalid tag ${JSON.stringify(t)}: ${(e as Error).message}`);
  }
  if (parseRef(n).digest !== undefined) throw badRequest(`t: ${JSON.stringify(t)}: a build cannot be tagged with a digest`);
  return n;
}

/** X-Registry-Config: base64 JSON of { "<registry>": {username, password, …} }. */
function registryConfig(header: string | string[] | undefined): Map<string, RegistryAuth> {
  const out = new Map<string, RegistryAuth>();
  const h = Array.isArray(header) ? header[0] : header;
  if (h === undefined || h.trim() === '') return out;
  try {
    const v: unknown = JSON.parse(Buffer.from(h.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    if (!isRecord(v)) return out;
    for (const [server, cfg] of Object.entries(v)) {
      const a = authFromObject(cfg);
      if (a === undefined) continue;
      const host = server.replace(/^https?:\/\//, '').split('/')[0]!;
      out.set(host === 'index.docker.io' ? 'docker.io' : host, a);
    }
  } catch {
    // never refuse a malformed auth header
  }
  return out;
}

function registryOf(ref: string): string {
  const name = parseRef(ref).name;
  const first = name.split('/')[0]!;
  return name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

function bodyStream(req: FastifyRequest): Readable {
  const b = req.body as unknown;
  if (b && typeof (b as Readable).pipe === 'function') return b as Readable;
  return req.raw;
}

function optionsOf(q: Record<string, unknown>): BuildOptions & { quiet: boolean; dockerfile: string | undefined } {
  if ((qString(q, 'remote') ?? '') !== '') throw badRequest('remote: remote build contexts are not supported; send the context as the request body');
  const tags = qList(q, 't').filter((t) => t !== '').map(tagOf);
  const network = qString(q, 'networkmode');
  const target = qString(q, 'target');
  const platform = qString(q, 'platform');
  return {
    tags: [...new Set(tags)],
    buildArgs: stringMap(jsonParam(q, 'buildargs'), 'buildargs'),
    labels: Object.fromEntries(stringMap(jsonParam(q, 'labels'), 'labels')),
    noCache: qBool(q, 'nocache'),
    pull: qBool(q, 'pull'),
    quiet: qBool(q, 'q'),
    dockerfile: qString(q, 'dockerfile'),
    ...(target !== undefined && target !== '' ? { target } : {}),
    ...(platform !== undefined && platform !== '' ? { platform } : {}),
    ...(network !== undefined && network !== '' && network !== 'default' ? { network } : {}),
  };
}

/**
 * What a daemon that died in the middle of a build left: snapshots mounted in the builder's scratch
 * area (opening the build store unmounts and deletes them) and RUN containers (removed here).
 */
async function recoverBuilds(deps: EngineApiDeps, images: ImageStore): Promise<void> {
  await buildStoreOf(deps.info?.dataRoot ?? images.root.replace(/\/image$/, ''));
  const c = deps.containers;
  if (c === undefined) return;
  const rows = await c.list({ all: true, filters: new Map([['label', [`${STEP_LABEL}=true`]]]) });
  for (const row of Array.isArray(rows) ? rows : []) {
    const id = isRecord(row) ? row['Id'] : undefined;
    if (typeof id === 'string') await c.remove(id, { force: true, v: true }).catch(() => undefined);
  }
}

export function buildRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  return async (app) => {
    if (deps.images instanceof ImageStore) void recoverBuilds(deps, deps.images).catch(() => undefined);
    app.post('/build', async (req, reply) => {
      const images = deps.images;
      const containers = deps.containers;
      if (!(images instanceof ImageStore) || containers === undefined) throw new ApiError(501, 'builds need the engine image store and containers');
      const o = optionsOf(query(req));
      const auths = registryConfig(req.headers['x-registry-config']);
      const store = await buildStoreOf(deps.info?.dataRoot ?? images.root.replace(/\/image$/, ''));
      const ctxDir = await store.workDir('ctx');
      let ctx: BuildContext;
      let plan: ReturnType<typeof planBuild>;
      try {
        try {
          ctx = await openContext(bodyStream(req), ctxDir, o.dockerfile);
          plan = planBuild(ctx, o.target);
        } catch (e) {
          if (e instanceof DockerfileError) throw badRequest(e.message);
          if (e instanceof BuildError) throw new ApiError(e.status, e.message);
          throw e;
        }
        const res = startStream(req, reply, 'application/json');
        const gone = clientGone(reply);
        const emit = (m: JsonMessage): void => {
          if (o.quiet && m.stream !== undefined) return;
          res.write(jsonLine(m));
        };
        try {
          await runBuild(ctx, plan, { ...o, signal: gone }, {
            images,
            store,
            buildImages: buildImagesOf(images),
            containers: stepContainers(containers),
            now: () => new Date(),
            arch: goArch(),
            pull: (ref, onProgress, platform) => {
              const auth = auths.get(registryOf(ref));
              return images.pull(ref, onProgress, { ...(auth !== undefined ? { auth } : {}), ...(platform !== undefined ? { platform } : {}) });
            },
          }, emit);
          for (const t of o.tags) deps.events.publish({ Type: 'image', Action: 'tag', Actor: { ID: images.resolve(t)?.id ?? t, Attributes: { name: t } } });
        } catch (e) {
          res.write(jsonLine(jsonError(toApiError(e).message)));
        }
        res.end();
      } finally {
        await rm(ctxDir, { recursive: true, force: true });
      }
      return reply;
    });

    app.post('/build/prune', async () => {
      const images = deps.images;
      if (!(images instanceof ImageStore)) throw new ApiError(501, 'builds need the engine image store');
      const store = await buildStoreOf(deps.info?.dataRoot ?? images.root.replace(/\/image$/, ''));
      try {
        const r = await store.prune();
        return { CachesDeleted: r.deleted, SpaceReclaimed: r.spaceReclaimed };
      } catch (e) {
        if (e instanceof BuildError) throw new ApiError(e.status, e.message);
        throw e;
      }
    });
  };
}
