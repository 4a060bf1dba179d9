/** Image endpoints (E1's ImageStore): list, inspect, history, tag, remove, save, load, import, prune. */
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ApiError, badRequest, notFound } from './errors.js';
import { anyMatch, labelsMatch, parseFilters } from './filters.js';
import { jsonError, jsonLine } from './jsonmessage.js';
import type { EngineApiDeps, ImagePort, ImageRecordView } from './ports.js';
import { qBool, qList, qString } from './query.js';
import { isRecord, need, query, startStream } from './route-helpers.js';

const LIST_FILTERS = ['reference', 'dangling', 'label', 'before', 'since'] as const;

function unix(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

function innerConfig(img: ImageRecordView): Record<string, unknown> {
  return isRecord(img.config) && isRecord(img.config['config']) ? img.config['config'] : {};
}

function labelsOf(img: ImageRecordView): Record<string, string> {
  const l = innerConfig(img)['Labels'];
  return isRecord(l) ? (l as Record<string, string>) : {};
}

export function imageSummary(img: ImageRecordView): Record<string, unknown> {
  return { Id: img.id, ParentId: '', RepoTags: img.repoTags, RepoDigests: img.repoDigests, Created: unix(img.created), Size: img.size, SharedSize: -1, VirtualSize: img.size, Labels: labelsOf(img), Containers: -1 };
}

export function imageInspect(img: ImageRecordView): Record<string, unknown> {
  const c = isRecord(img.config) ? img.config : {};
  const rootfs = isRecord(c['rootfs']) ? c['rootfs'] : {};
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: '',
    Comment: typeof c['comment'] === 'string' ? c['comment'] : '',
    Created: img.created,
    DockerVersion: '',
    Author: typeof c['author'] === 'string' ? c['author'] : '',
    Config: innerConfig(img),
    Architecture: typeof c['architecture'] === 'string' ? c['architecture'] : 'amd64',
    Os: typeof c['os'] === 'string' ? c['os'] : 'linux',
    Size: img.size,
    VirtualSize: img.size,
    GraphDriver: { Name: 'overlay2', Data: null },
    RootFS: { Type: 'layers', Layers: Array.isArray(rootfs['diff_ids']) ? rootfs['diff_ids'] : (img.layers ?? []).map((l) => l.diffId) },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

function mustResolve(images: ImagePort, ref: string): ImageRecordView {
  const img = images.resolve(ref);
  if (!img) throw notFound(`No such image: ${ref}`);
  return img;
}

/** "repo" + "tag" query → one reference (tag defaults to latest). */
export function joinRef(repo: string, tag: string | undefined): string {
  if (repo === '') return '';
  const lastSlash = repo.lastIndexOf('/');
  const hasTag = repo.lastIndexOf(':') > lastSlash || repo.includes('@');
  if (hasTag) return repo;
  return `${repo}:${tag && tag !== '' ? tag : 'latest'}`;
}

function bodyStream(req: FastifyRequest): Readable {
  const b = req.body as unknown;
  if (b && typeof (b as Readable).pipe === 'function') return b as Readable;
  return req.raw;
}

export function imageRoutes(deps: EngineApiDeps): FastifyPluginAsync {
  const inUse = (imageId: string): boolean => deps.containers?.imageInUse?.(imageId) ?? false;
  return async (app) => {
    app.get('/images/json', async (req) => {
      const images = need(deps.images, 'images');
      const q = query(req);
      const f = parseFilters(q['filters'], LIST_FILTERS);
      const all = images.list();
      const at = (ref: string): number => unix(mustResolve(images, ref).created);
      return all
        .filter(
          (i) =>
            anyMatch(f, 'dangling', (v) => (v === 'true' || v === '1') === (i.repoTags.length === 0)) &&
            anyMatch(f, 'reference', (v) => i.repoTags.some((t) => t === v || t.startsWith(`${v}:`) || t.split(':')[0] === v)) &&
            labelsMatch(labelsOf(i), f.get('label')) &&
            anyMatch(f, 'before', (v) => unix(i.created) < at(v)) &&
            anyMatch(f, 'since', (v) => unix(i.created) > at(v)),
        )
        .map((i) => (deps.imageViews ? deps.imageViews.summary(i) : imageSummary(i)));
    });
    app.get('/images/get', async (req, reply) => {
      const images = need(deps.images, 'images');
      const names = qList(query(req), 'names');
      if (names.length === 0) throw badRequest('names is required (one or more image references)');
      for (const n of names) mustResolve(images, n);
      return reply.status(200).header('Content-Type', 'application/x-tar').send(images.save(names, 'docker'));
    });
    app.post('/images/load', async (req, reply) => {
      const images = need(deps.images, 'images');
      const quiet = qBool(query(req), 'quiet');
      const r = await images.load(bodyStream(req));
      const lines = r.loaded.map((ref) => jsonLine({ stream: ref.startsWith('sha256:') ? `Loaded image ID: ${ref}\n` : `Loaded image: ${ref}\n` }));
      for (const ref of r.loaded) deps.events.publish({ Type: 'image', Action: 'load', Actor: { ID: ref, Attributes: { name: ref } } });
      void quiet;
      return reply.status(200).header('Content-Type', 'application/json').send(lines.join(''));
    });
    app.post('/images/create', async (req, reply) => {
      const images = need(deps.images, 'images');
      const q = query(req);
      const fromSrc = qString(q, 'fromSrc');
      const fromImage = qString(q, 'fromImage');
      if (fromSrc !== undefined) {
        if (fromSrc !== '-') throw badRequest('importing from a URL is not supported: use fromSrc=- with the tar in the request body');
        const ref = joinRef(qString(q, 'repo') ?? '', qString(q, 'tag'));
        const changes = qList(q, 'changes');
        const message = qString(q, 'message');
        const img = await images.importRootfs(bodyStream(req), { ...(ref ? { ref } : {}), changes, ...(message ? { message } : {}) });
        deps.events.publish({ Type: 'image', Action: 'import', Actor: { ID: img.id, Attributes: { name: ref || img.id } } });
        return reply.status(200).header('Content-Type', 'application/json').send(jsonLine({ status: img.id }));
      }
      if (fromImage !== undefined) {
        const ref = joinRef(fromImage, qString(q, 'tag'));
        if (!images.pull) throw notFound(`pull access denied for ${ref}: this engine cannot reach a registry (pulling is not supported yet); load the image with "docker load" or import a rootfs`);
        const out = startStream(req, reply, 'application/json');
        void images
          .pull(ref, (m) => out.write(JSON.stringify(m) + '\n'))
          .then(() => out.end(jsonLine({ status: `Status: Downloaded newer image for ${ref}` })))
          .catch((e: unknown) => out.end(jsonLine(jsonError((e as Error).message))));
        return reply;
      }
      throw badRequest('fromImage or fromSrc is required');
    });
    app.post('/images/prune', async (req) => {
      const images = need(deps.images, 'images');
      const f = parseFilters(query(req)['filters'], ['dangling', 'until', 'label']);
      const dangling = !(f.get('dangling') ?? ['true']).some((v) => v === 'false' || v === '0');
      if (!images.prune) {
        const deleted: string[] = [];
        const untagged: string[] = [];
        for (const i of images.list()) {
          if ((dangling && i.repoTags.length > 0) || inUse(i.id)) continue;
          try {
            const r = await images.remove(i.id, { force: !dangling, inUse });
            deleted.push(...r.deleted);
            untagged.push(...r.untagged);
          } catch (e) {
            if (!(e instanceof Error)) throw e;
          }
        }
        return { ImagesDeleted: [...untagged.map((u) => ({ Untagged: u })), ...deleted.map((d) => ({ Deleted: d }))], SpaceReclaimed: 0 };
      }
      const r = await images.prune({ dangling, inUse });
      return { ImagesDeleted: r.deleted.map((d) => ({ Deleted: d })), SpaceReclaimed: r.spaceReclaimed ?? 0 };
    });

    // Names contain "/" and ":" (localhost:5000/a/b:1): one wildcard route per method, the action at the end.
    app.get('/images/*', async (req, reply) => {
      const images = need(deps.images, 'images');
      const rest = decodeURIComponent(((req.params ?? {}) as Record<string, string>)['*'] ?? '');
      const m = /^(.+)\/(json|history|get)$/.exec(rest);
      if (!m) throw notFound(`page not found: GET /images/${rest}`);
      const img = mustResolve(images, m[1]!);
      if (m[2] === 'json') {
        if (!deps.imageViews) return imageInspect(img);
        const view = deps.imageViews.inspect(img);
        const descriptor = await deps.imageViews.descriptor?.(img);
        return descriptor && isRecord(view) ? { ...view, Descriptor: descriptor } : view;
      }
      if (m[2] === 'get') return reply.status(200).header('Content-Type', 'application/x-tar').send(images.save([m[1]!], 'docker'));
      const c = isRecord(img.config) ? img.config : {};
      const hist = Array.isArray(c['history']) ? c['history'].filter(isRecord) : [];
      const rows = hist.length > 0 ? hist : [{ created: img.created, created_by: '' }];
      return rows
        .map((h, i) => ({ Id: i === rows.length - 1 ? img.id : '<missing>', Created: unix(typeof h['created'] === 'string' ? h['created'] : img.created), CreatedBy: typeof h['created_by'] === 'string' ? h['created_by'] : '', Tags: i === rows.length - 1 ? img.repoTags : null, Size: 0, Comment: typeof h['comment'] === 'string' ? h['comment'] : '' }))
        .reverse();
    });
    app.post('/images/*', async (req, reply) => {
      const images = need(deps.images, 'images');
      const rest = decodeURIComponent(((req.params ?? {}) as Record<string, string>)['*'] ?? '');
      const m = /^(.+)\/(tag|push)$/.exec(rest);
      if (!m) throw notFound(`page not found: POST /images/${rest}`);
      if (m[2] === 'push') throw new ApiError(501, 'pushing images is not supported yet: no registry client in this engine');
      const img = mustResolve(images, m[1]!);
      const q = query(req);
      const repo = qString(q, 'repo') ?? '';
      if (repo === '') throw badRequest('repo is required');
      const target = joinRef(repo, qString(q, 'tag'));
      await images.tag(m[1]!, target);
      deps.events.publish({ Type: 'image', Action: 'tag', Actor: { ID: img.id, Attributes: { name: target } } });
      return reply.status(201).send();
    });
    app.delete('/images/*', async (req) => {
      const images = need(deps.images, 'images');
      const ref = decodeURIComponent(((req.params ?? {}) as Record<string, string>)['*'] ?? '');
      mustResolve(images, ref);
      const r = await images.remove(ref, { force: qBool(query(req), 'force'), inUse });
      for (const u of r.untagged) deps.events.publish({ Type: 'image', Action: 'untag', Actor: { ID: u, Attributes: { name: u } } });
      for (const d of r.deleted) deps.events.publish({ Type: 'image', Action: 'delete', Actor: { ID: d, Attributes: { name: d } } });
      return [...r.untagged.map((u) => ({ Untagged: u })), ...r.deleted.map((d) => ({ Deleted: d }))];
    });
  };
}
