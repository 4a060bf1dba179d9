/**
 * The services/tasks REST API in Docker's shapes: POST /services/create, GET /services (filters id,
 * name, label, mode; ?status=true adds ServiceStatus), GET /services/{id} (?insertDefaults), POST
 * /services/{id}/update (?version, ?rollback=previous), DELETE /services/{id}, GET /tasks (filters id,
 * service, node, desired-state, name, label, _up-to-date), GET /tasks/{id}, and the logs of both
 * (service-logs.ts). Writes go through the
 * replicated store (nothing half-applied: one transaction per request); the leader loops do the rest.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { isStoreError, generateId, type ReadTx, type ReplicatedStore, type Service, type ServiceSpec, type Task } from '../store/index.js';
import { isUpToDate, modeKind } from '../orchestrator/task-factory.js';
import { nodeEligible } from '../orchestrator/orchestrator-loop.js';
import { RegistryClient, registryTarget } from '../../worker/engine/image/registry-client.js';
import { resolveServiceRefs } from './service-refs.js';
import { checkServiceNetworks } from './service-networks.js';
import { registerLogRoutes, type LogSource } from './service-logs.js';
import { insertDefaults, validateServiceSpec, validateServiceUpdate, ValidationError } from './validate.js';

export interface ServiceRoutesDeps {
  store: ReplicatedStore;
  /** the leader's log broker, for GET /services/{id}/logs and /tasks/{id}/logs (501 without) */
  logs?: LogSource;
  /** ms since the epoch (injected for tests) */
  now?: () => number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Filters = Map<string, string[]>;

/** Docker's filters JSON: `{"k":{"v":true}}` (CLI) or `{"k":["v"]}` (dockerode). */
export function parseFilters(raw: unknown, allowed: readonly string[]): Filters {
  const out: Filters = new Map();
  if (raw === undefined || raw === '') return out;
  let obj: unknown;
  try {
    obj = JSON.parse(String(raw));
  } catch {
    throw new HttpError(400, `filters: invalid JSON ${JSON.stringify(String(raw))}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new HttpError(400, 'filters: must be a JSON object');
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (!allowed.includes(k)) throw new HttpError(400, `invalid filter '${k}'`);
    const vals = Array.isArray(v) ? v.map(String) : typeof v === 'object' && v !== null ? Object.keys(v) : [String(v)];
    out.set(k, vals);
  }
  return out;
}

export function errorReply(reply: FastifyReply, e: unknown): FastifyReply {
  let status = 500;
  let message = e instanceof Error ? e.message : String(e);
  if (e instanceof HttpError || e instanceof ValidationError) status = e.status;
  else if (isStoreError(e)) {
    if (e.code === 'not-found') status = 404;
    else if (e.code === 'name-conflict' || e.code === 'exists') status = 409;
    else if (e.code === 'out-of-sequence') {
      status = 409;
      message = 'rpc error: code = Unknown desc = update out of sequence';
    } else if (e.code === 'ambiguous' || e.code === 'invalid') status = 400;
    else if (e.code === 'not-leader') status = 503;
  }
  return reply.status(status).header('Content-Type', 'application/json').send(JSON.stringify({ message }));
}

export function renderService(s: Service): Record<string, unknown> {
  const { Meta, Endpoint, ID, ...rest } = s;
  return {
    ID,
    Version: Meta.Version,
    CreatedAt: Meta.CreatedAt,
    UpdatedAt: Meta.UpdatedAt,
    ...rest,
    Endpoint: Endpoint ?? { Spec: s.Spec.EndpointSpec ?? { Mode: 'vip' } },
  };
}

export function renderTask(t: Task): Record<string, unknown> {
  const { Meta, ID, ...rest } = t;
  return { ID, Version: Meta.Version, CreatedAt: Meta.CreatedAt, UpdatedAt: Meta.UpdatedAt, ...rest };
}

function serviceStatus(tx: ReadTx, s: Service): { RunningTasks: number; DesiredTasks: number; CompletedTasks: number } {
  const iteration = s.JobStatus?.JobIteration.Index;
  const tasks = tx.find('tasks', { index: 'service', key: s.ID }).filter((t) => iteration === undefined || (t.JobIteration?.Index ?? 0) === iteration);
  const nodes = tx.find('nodes');
  const down = new Set(nodes.filter((n) => n.Status.State === 'down').map((n) => n.ID));
  const running = tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running' && !down.has(t.NodeID)).length;
  const completed = tasks.filter((t) => t.Status.State === 'complete').length;
  const kind = modeKind(s);
  let desired = 0;
  if (kind === 'replicated') desired = s.Spec.Mode.Replicated?.Replicas ?? 1;
  else if (kind === 'global') desired = nodes.filter((n) => nodeEligible(n, s)).length;
  else if (kind === 'replicated-job') {
    const j = s.Spec.Mode.ReplicatedJob!;
    desired = Math.min(j.MaxConcurrent ?? 1, Math.max(0, (j.TotalCompletions ?? 1) - completed));
  } else desired = tasks.filter((t) => t.DesiredState === 'running').length;
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
}

/** Another service holding one of these ingress published ports (Docker's message), or undefined. */
function portConflict(tx: ReadTx, spec: ServiceSpec, selfId?: string): string | undefined {
  for (const p of spec.EndpointSpec?.Ports ?? []) {
    if (!p.PublishedPort || p.PublishMode === 'host') continue;
    for (const o of tx.find('services')) {
      if (o.ID === selfId) continue;
      const held = [...(o.Endpoint?.Ports ?? []), ...(o.Spec.EndpointSpec?.Ports ?? [])];
      if (held.some((q) => q.PublishedPort === p.PublishedPort && (q.Protocol ?? 'tcp') === (p.Protocol ?? 'tcp') && q.PublishMode !== 'host')) {
        return `port '${p.PublishedPort}' is already in use by service '${o.Spec.Name}' (${o.ID}) as an ingress port`;
      }
    }
  }
  return undefined;
}

const truthy = (v: unknown): boolean => v === '1' || v === 'true' || v === 'True' || v === true;

function taskName(t: Task): string {
  return `${t.ServiceAnnotations.Name}.${t.Slot > 0 ? t.Slot : t.NodeID}.${t.ID}`;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { architecture?: string; os?: string; variant?: string };
}

/** Docker's DistributionInspect: the manifest descriptor by tag, and the platforms it offers. */
export async function distributionInspect(ref: string, timeoutMs = 15_000): Promise<{ Descriptor: Descriptor; Platforms: { architecture: string; os: string; variant?: string }[] }> {
  let target;
  try {
    target = registryTarget(ref);
  } catch (e) {
    throw new HttpError(400, `name: ${(e as Error).message}`);
  }
  const client = new RegistryClient(target, { timeoutMs, blobTimeoutMs: timeoutMs });
  let m;
  try {
    m = await client.manifest(target.reference);
  } catch (e) {
    const status = (e as { status?: number }).status === 404 ? 404 : 500;
    throw new HttpError(status, (e as Error).message);
  }
  const doc = JSON.parse(m.bytes.toString('utf8')) as { mediaType?: string; manifests?: Descriptor[]; config?: { digest: string } };
  const mediaType = m.mediaType || doc.mediaType || '';
  const Platforms: { architecture: string; os: string; variant?: string }[] = [];
  if (doc.manifests) {
    for (const d of doc.manifests) {
      const p = d.platform;
      if (p?.os && p.architecture && p.os !== 'unknown') Platforms.push({ architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) });
    }
  } else if (doc.config?.digest) {
    const chunks: Buffer[] = [];
    for await (const c of await client.blob(doc.config.digest as never)) chunks.push(c as Buffer);
    const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { architecture?: string; os?: string; variant?: string };
    if (cfg.architecture && cfg.os) Platforms.push({ architecture: cfg.architecture, os: cfg.os, ...(cfg.variant ? { variant: cfg.variant } : {}) });
  }
  return { Descriptor: { mediaType, digest: m.digest, size: m.bytes.length }, Platforms };
}

export function serviceRoutes(deps: ServiceRoutesDeps): FastifyPluginAsync {
  const { store } = deps;
  const now = deps.now ?? Date.now;
  return async (app) => {
    registerLogRoutes(app, deps);

    app.post('/services/create', async (req, reply) => {
      try {
        const spec = validateServiceSpec(req.body);
        const id = generateId((n) => randomBytes(n));
        await store.update((tx) => {
          if (tx.find('services', { name: spec.Name }).length > 0) {
            throw new HttpError(409, `rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${spec.Name} already exists`);
          }
          const conflict = portConflict(tx, spec);
          if (conflict) throw new HttpError(400, `rpc error: code = InvalidArgument desc = ${conflict}`);
          resolveServiceRefs(tx, spec);
          checkServiceNetworks(tx, spec);
          const isJob = spec.Mode.ReplicatedJob !== undefined || spec.Mode.GlobalJob !== undefined;
          tx.create('services', { ID: id, Spec: spec, ...(isJob ? { JobStatus: { JobIteration: { Index: 0 }, LastExecution: new Date(now()).toISOString() } } : {}) });
        });
        return reply.status(201).send({ ID: id, Warnings: null });
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.get('/services', async (req, reply) => {
      try {
        const q = req.query as Record<string, string | undefined>;
        const f = parseFilters(q.filters, ['id', 'name', 'label', 'mode']);
        const withStatus = truthy(q.status);
        const out = store.view((tx) =>
          tx
            .find('services')
            .filter((s) => {
              const ids = f.get('id');
              if (ids && !ids.some((v) => s.ID.startsWith(v))) return false;
              const names = f.get('name');
              if (names && !names.some((v) => s.Spec.Name.startsWith(v))) return false;
              const labels = f.get('label');
              if (labels && !labels.every((l) => {
                const [k, v] = l.split('=', 2) as [string, string | undefined];
                const have = s.Spec.Labels?.[k];
                return have !== undefined && (v === undefined || have === v);
              })) return false;
              const modes = f.get('mode');
              if (modes && !modes.includes(s.Spec.Mode.Global ? 'global' : s.Spec.Mode.Replicated ? 'replicated' : s.Spec.Mode.ReplicatedJob ? 'replicated-job' : 'global-job')) return false;
              return true;
            })
            .map((s) => ({ ...renderService(s), ...(withStatus ? { ServiceStatus: serviceStatus(tx, s) } : {}) })),
        );
        return reply.send(out);
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.get('/services/:id', async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        const q = req.query as Record<string, string | undefined>;
        const s = store.view((tx) => tx.lookup('services', id));
        const r = renderService(s);
        if (truthy(q.insertDefaults)) {
          r.Spec = insertDefaults(s.Spec);
          if (s.PreviousSpec) r.PreviousSpec = insertDefaults(s.PreviousSpec);
        }
        return reply.send(r);
      } catch (e) {
        if (isStoreError(e, 'not-found')) return errorReply(reply, new HttpError(404, `service ${(req.params as { id: string }).id} not found`));
        return errorReply(reply, e);
      }
    });

    app.post('/services/:id/update', async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        const q = req.query as Record<string, string | undefined>;
        if (q.version === undefined || q.version === '') throw new HttpError(400, 'version: the service version to update is required (?version=N)');
        const version = Number(q.version);
        if (!Number.isInteger(version) || version < 0) throw new HttpError(400, `version: ${JSON.stringify(q.version)} is not a non-negative integer`);
        const rollback = q.rollback === 'previous';
        if (q.rollback !== undefined && q.rollback !== '' && !rollback) throw new HttpError(400, `rollback: ${JSON.stringify(q.rollback)} is not "previous"`);
        const spec = rollback ? undefined : validateServiceSpec(req.body);
        const at = new Date(now()).toISOString();
        await store.update((tx) => {
          const cur = tx.lookup('services', id);
          if (cur.Meta.Version.Index !== version) throw new HttpError(409, 'rpc error: code = Unknown desc = update out of sequence');
          // every update of a job starts a new run of it (SwarmKit's JobIteration)
          const job = cur.JobStatus ? { JobStatus: { JobIteration: { Index: cur.JobStatus.JobIteration.Index + 1 }, LastExecution: at } } : {};
          if (rollback) {
            if (!cur.PreviousSpec) throw new HttpError(400, `rpc error: code = FailedPrecondition desc = service ${cur.ID} does not have a previous spec`);
            tx.update('services', {
              ...cur,
              ...job,
              Spec: cur.PreviousSpec,
              PreviousSpec: cur.Spec,
              UpdateStatus: { State: 'rollback_started', StartedAt: at, Message: 'manually requested rollback' },
            });
            return;
          }
          validateServiceUpdate(cur.Spec, spec!);
          resolveServiceRefs(tx, spec!);
          checkServiceNetworks(tx, spec!);
          const conflict = portConflict(tx, spec!, cur.ID);
          if (conflict) throw new HttpError(400, `rpc error: code = InvalidArgument desc = ${conflict}`);
          const { UpdateStatus: _dropped, ...rest } = cur; // SwarmKit resets UpdateStatus on every spec update
          tx.update('services', { ...rest, ...job, PreviousSpec: cur.Spec, Spec: spec! });
        });
        return reply.send({ Warnings: null });
      } catch (e) {
        if (isStoreError(e, 'not-found')) return errorReply(reply, new HttpError(404, `service ${(req.params as { id: string }).id} not found`));
        return errorReply(reply, e);
      }
    });

    app.delete('/services/:id', async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        await store.update((tx) => tx.delete('services', tx.lookup('services', id).ID));
        return reply.status(200).send();
      } catch (e) {
        if (isStoreError(e, 'not-found')) return errorReply(reply, new HttpError(404, `service ${(req.params as { id: string }).id} not found`));
        return errorReply(reply, e);
      }
    });

    app.get('/tasks', async (req, reply) => {
      try {
        const q = req.query as Record<string, string | undefined>;
        const f = parseFilters(q.filters, ['id', 'name', 'label', 'service', 'node', 'desired-state', '_up-to-date', 'runtime']);
        for (const d of f.get('desired-state') ?? []) {
          if (!['running', 'shutdown', 'accepted'].includes(d)) throw new HttpError(400, `Invalid task desired state filter: ${d} (running, shutdown or accepted)`);
        }
        const out = store.view((tx) => {
          const svcIds = f.get('service')?.map((ref) => {
            try {
              return tx.lookup('services', ref).ID;
            } catch {
              return ref;
            }
          });
          const nodeIds = f.get('node')?.map((ref) => {
            try {
              return tx.lookup('nodes', ref).ID;
            } catch {
              return ref;
            }
          });
          const base = svcIds && svcIds.length === 1 ? tx.find('tasks', { index: 'service', key: svcIds[0]! }) : tx.find('tasks');
          const services = new Map(tx.find('services').map((s) => [s.ID, s]));
          return base
            .filter((t) => {
              if (svcIds && !svcIds.includes(t.ServiceID)) return false;
              if (nodeIds && !nodeIds.includes(t.NodeID)) return false;
              const ids = f.get('id');
              if (ids && !ids.some((v) => t.ID.startsWith(v))) return false;
              const names = f.get('name');
              if (names && !names.some((v) => taskName(t).startsWith(v))) return false;
              const ds = f.get('desired-state');
              if (ds && !ds.some((d) => (d === 'running' ? t.DesiredState === 'running' || t.DesiredState === 'ready' : d === 'accepted' ? t.DesiredState === 'accepted' : t.DesiredState === 'shutdown' || t.DesiredState === 'remove'))) return false;
              const labels = f.get('label');
              if (labels && !labels.every((l) => {
                const [k, v] = l.split('=', 2) as [string, string | undefined];
                const have = t.Spec.ContainerSpec.Labels?.[k] ?? t.Labels?.[k];
                return have !== undefined && (v === undefined || have === v);
              })) return false;
              if (f.has('_up-to-date')) {
                const s = services.get(t.ServiceID);
                if (!s || !isUpToDate(t, s)) return false;
              }
              return true;
            })
            .map(renderTask);
        });
        return reply.send(out);
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    // GET /distribution/{name}/json: the digest and platforms `docker service create|update` pin the image to
    app.get('/distribution/*', async (req, reply) => {
      try {
        const rest = (req.params as { '*': string })['*'];
        if (!rest.endsWith('/json')) throw new HttpError(404, `page not found: GET /distribution/${rest}`);
        const ref = decodeURIComponent(rest.slice(0, -'/json'.length));
        if (ref === '') throw new HttpError(400, 'name: an image reference is required');
        return reply.send(await distributionInspect(ref));
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.get('/tasks/:id', async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        return reply.send(renderTask(store.view((tx) => tx.lookup('tasks', id))));
      } catch (e) {
        if (isStoreError(e, 'not-found')) return errorReply(reply, new HttpError(404, `task ${(req.params as { id: string }).id} not found`));
        return errorReply(reply, e);
      }
    });
  };
}
