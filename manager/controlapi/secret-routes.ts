/**
 * Secrets and configs REST in Docker's shapes: POST /{secrets,configs}/create, GET /{…} (filters id,
 * name, names, label), GET /{…}/{id}, POST /{…}/{id}/update?version= (labels only: the data is
 * immutable, repeating it is allowed as `docker stack deploy` does), DELETE /{…}/{id} (204; refused
 * while a service references it, with SwarmKit's message). Size limits as SwarmKit's: secrets under
 * 500 KB, configs under 1000 KB.
 *
 * Secret data is sealed with the cluster's secrets key in the transaction that creates the secret
 * (Secret.SealedData); no GET ever answers it. Config data is not secret (Docker shows it in inspect)
 * and is stored as given.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { generateId, isStoreError, type Config, type Labels, type ReadTx, type ReplicatedStore, type Secret, type WriteTx } from '../store/index.js';
import { errorReply, HttpError, parseFilters } from './service-routes.js';
import type { SecretKeyring } from './secret-keyring.js';

export interface SecretRoutesDeps {
  store: ReplicatedStore;
  /** seals secret data (this manager's access to the cluster's secrets key) */
  keyring: SecretKeyring;
}

const NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export const MAX_SECRET_BYTES = 500 * 1024;
export const MAX_CONFIG_BYTES = 1000 * 1024;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

interface DataSpec {
  Name: string;
  Labels: Labels;
  /** the decoded bytes, undefined when the body had no Data */
  data: Buffer | undefined;
}

type Kind = 'secret' | 'config';

/** Checks a SecretSpec / ConfigSpec body (SwarmKit's validateSecretSpec / validateConfigSpec). */
export function checkDataSpec(kind: Kind, body: unknown, forCreate: boolean): DataSpec {
  if (!isObj(body)) throw new HttpError(400, `request body: a ${kind === 'secret' ? 'SecretSpec' : 'ConfigSpec'} object is required`);
  const name = body.Name;
  if (typeof name !== 'string' || name === '') throw new HttpError(400, 'Name: name must be provided');
  if (name.length > 64 || !NAME.test(name)) {
    throw new HttpError(400, `Name: invalid name ${JSON.stringify(name)}, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]`);
  }
  const labels = body.Labels ?? {};
  if (!isObj(labels) || Object.values(labels).some((v) => typeof v !== 'string')) throw new HttpError(400, 'Labels: must be an object of strings');
  if (isObj(body.Driver) && typeof body.Driver.Name === 'string' && body.Driver.Name !== '') {
    throw new HttpError(400, `Driver: ${kind} drivers are not supported (${JSON.stringify(body.Driver.Name)})`);
  }
  if (isObj(body.Templating) && typeof body.Templating.Name === 'string' && body.Templating.Name !== '') {
    throw new HttpError(400, `Templating: template drivers are not supported (${JSON.stringify(body.Templating.Name)})`);
  }
  let data: Buffer | undefined;
  if (body.Data !== undefined && body.Data !== null) {
    if (typeof body.Data !== 'string' || !BASE64.test(body.Data)) throw new HttpError(400, 'Data: must be base64 (standard alphabet, padded)');
    data = Buffer.from(body.Data, 'base64');
  }
  const max = kind === 'secret' ? MAX_SECRET_BYTES : MAX_CONFIG_BYTES;
  if (forCreate || (data !== undefined && data.length > 0)) {
    const n = data?.length ?? 0;
    if (n < 1 || n >= max) throw new HttpError(400, `Data: ${kind} data must be larger than 0 and less than ${max / 1024} KB (got ${n} bytes)`);
  }
  return { Name: name, Labels: labels as Labels, data };
}

interface KindOps<T extends Secret | Config> {
  table: 'secrets' | 'configs';
  kind: Kind;
  /** builds the stored object for a new ID */
  create(tx: WriteTx, id: string, spec: DataSpec): T;
  /** whether `data` equals what `obj` holds */
  sameData(tx: ReadTx, obj: T, data: Buffer): boolean;
  render(obj: T): Record<string, unknown>;
}

function renderMeta(o: Secret | Config): Record<string, unknown> {
  return { ID: o.ID, Version: o.Meta.Version, CreatedAt: o.Meta.CreatedAt, UpdatedAt: o.Meta.UpdatedAt };
}

/** A secret as the API shows it: never its data. */
export function renderSecret(s: Secret): Record<string, unknown> {
  const { Data: _data, ...spec } = s.Spec;
  return { ...renderMeta(s), Spec: { ...spec, Labels: spec.Labels ?? {} } };
}

export function renderConfig(c: Config): Record<string, unknown> {
  return { ...renderMeta(c), Spec: { ...c.Spec, Labels: c.Spec.Labels ?? {} } };
}

function dataRoutes<T extends Secret | Config>(store: ReplicatedStore, ops: KindOps<T>): FastifyPluginAsync {
  const { table, kind } = ops;
  const notFound = (ref: string) => new HttpError(404, `${kind} ${ref} not found`);
  const lookup = (tx: ReadTx, ref: string): T => {
    try {
      return tx.lookup(table, ref) as T;
    } catch (e) {
      if (isStoreError(e, 'not-found')) throw notFound(ref);
      throw e;
    }
  };
  return async (app) => {
    app.post(`/${table}/create`, async (req, reply) => {
      try {
        const spec = checkDataSpec(kind, req.body, true);
        const id = generateId((n) => randomBytes(n));
        await store.update((tx) => {
          if (tx.find(table, { name: spec.Name }).length > 0) {
            throw new HttpError(409, `rpc error: code = AlreadyExists desc = ${kind} ${spec.Name} already exists`);
          }
          tx.create(table, ops.create(tx, id, spec) as never);
        });
        return reply.status(201).send({ ID: id });
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.get(`/${table}`, async (req, reply) => {
      try {
        const q = req.query as Record<string, string | undefined>;
        const f = parseFilters(q.filters, ['id', 'name', 'names', 'label']);
        const out = store.view((tx) =>
          (tx.find(table) as T[])
            .filter((o) => {
              const ids = f.get('id');
              if (ids && !ids.some((v) => o.ID.startsWith(v))) return false;
              const names = f.get('names');
              if (names && !names.includes(o.Spec.Name)) return false;
              const prefixes = f.get('name');
              if (prefixes && !prefixes.some((v) => o.Spec.Name.startsWith(v))) return false;
              const labels = f.get('label');
              if (labels && !labels.every((l) => {
                const eq = l.indexOf('=');
                const k = eq < 0 ? l : l.slice(0, eq);
                const have = o.Spec.Labels?.[k];
                return have !== undefined && (eq < 0 || have === l.slice(eq + 1));
              })) return false;
              return true;
            })
            .map((o) => ops.render(o)),
        );
        return reply.send(out);
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.get(`/${table}/:id`, async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        return reply.send(ops.render(store.view((tx) => lookup(tx, id))));
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.post(`/${table}/:id/update`, async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        const q = req.query as Record<string, string | undefined>;
        if (q.version === undefined || q.version === '') throw new HttpError(400, `version: the ${kind} version to update is required (?version=N)`);
        const version = Number(q.version);
        if (!Number.isInteger(version) || version < 0) throw new HttpError(400, `version: ${JSON.stringify(q.version)} is not a non-negative integer`);
        const spec = checkDataSpec(kind, req.body, false);
        await store.update((tx) => {
          const cur = lookup(tx, id);
          if (cur.Meta.Version.Index !== version) throw new HttpError(409, 'rpc error: code = Unknown desc = update out of sequence');
          if (spec.Name !== cur.Spec.Name || (spec.data !== undefined && spec.data.length > 0 && !ops.sameData(tx, cur, spec.data))) {
            throw new HttpError(400, 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed');
          }
          tx.update(table, { ...cur, Spec: { ...cur.Spec, Labels: spec.Labels } } as never);
        });
        return reply.status(200).send();
      } catch (e) {
        return errorReply(reply, e);
      }
    });

    app.delete(`/${table}/:id`, async (req, reply) => {
      try {
        const { id } = req.params as { id: string };
        await store.update((tx) => {
          const cur = lookup(tx, id);
          const users = tx.find('services', { index: kind, key: cur.ID }).map((s) => s.Spec.Name);
          if (users.length > 0) {
            throw new HttpError(400, `rpc error: code = InvalidArgument desc = ${kind} '${cur.Spec.Name}' is in use by the following service${users.length === 1 ? '' : 's'}: ${users.join(', ')}`);
          }
          tx.delete(table, cur.ID);
        });
        return reply.status(204).send();
      } catch (e) {
        return errorReply(reply, e);
      }
    });
  };
}

/** /secrets: data sealed with the keyring, never shown. */
export function secretRoutes(deps: SecretRoutesDeps): FastifyPluginAsync {
  const { keyring } = deps;
  return dataRoutes<Secret>(deps.store, {
    table: 'secrets',
    kind: 'secret',
    create: (tx, id, spec) => ({
      ID: id,
      Spec: { Name: spec.Name, Labels: spec.Labels },
      SealedData: keyring.seal(tx, id, spec.data!),
    }) as Secret,
    sameData: (tx, s, data) => keyring.sameData(tx, s, data),
    render: renderSecret,
  });
}

/** /configs: data stored as given and shown by inspect, as Docker does. */
export function configRoutes(deps: { store: ReplicatedStore }): FastifyPluginAsync {
  return dataRoutes<Config>(deps.store, {
    table: 'configs',
    kind: 'config',
    create: (_tx, id, spec) => ({ ID: id, Spec: { Name: spec.Name, Labels: spec.Labels, Data: spec.data!.toString('base64') } }) as Config,
    sameData: (_tx, c, data) => Buffer.from(c.Spec.Data, 'base64').equals(data),
    render: renderConfig,
  });
}
