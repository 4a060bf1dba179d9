/**
 * Nodes in Docker's shapes: GET /nodes (filters id, label, membership, name, node.label, role),
 * GET /nodes/{id|prefix|hostname}, POST /nodes/{id}/update?version= (the full NodeSpec: role,
 * availability, labels, name), DELETE /nodes/{id}?force. A demotion that would leave no manager or lose
 * the Raft quorum, and the removal of a manager still in Raft or of a node still up, are refused with
 * SwarmKit's messages; the role manager does the demotion itself (Raft first, then the role).
 */
import type { FastifyPluginAsync } from 'fastify';
import { parseIdentity } from '../ca/index.js';
import type { Node, NodeAvailability, NodeRole, NodeSpec, ReplicatedStore } from '../store/index.js';
import { isStoreError } from '../store/index.js';
import { canRemoveMember } from '../node/quorum.js';
import { badRequest, ControlError, notFound } from './control-error.js';
import { renderNode } from './render-swarm.js';
import { parseFilters } from './service-routes.js';

export interface NodeRoutesDeps {
  store: ReplicatedStore;
  /** the leader's view of the Raft voters (for the quorum check of a demotion) */
  voters: () => { id: number; reachable: boolean }[];
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

export function parseVersion(raw: unknown): number {
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw badRequest(`invalid version: ${JSON.stringify(v ?? '')} (want the object's Version.Index, e.g. ?version=12)`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw badRequest(`invalid version: ${v}`);
  return n;
}

export function parseNodeSpec(body: unknown, current: NodeSpec): NodeSpec {
  if (!isObj(body)) throw badRequest('node spec: the body must be a JSON object (NodeSpec)');
  const role = body.Role ?? current.Role;
  if (role !== 'manager' && role !== 'worker') throw badRequest(`Role: invalid role ${JSON.stringify(role)} (want "manager" or "worker")`);
  const availability = body.Availability ?? current.Availability;
  if (availability !== 'active' && availability !== 'pause' && availability !== 'drain') {
    throw badRequest(`Availability: invalid availability ${JSON.stringify(availability)} (want "active", "pause" or "drain")`);
  }
  let labels: Record<string, string> = {};
  if (body.Labels !== undefined && body.Labels !== null) {
    if (!isObj(body.Labels) || Object.values(body.Labels).some((v) => typeof v !== 'string')) throw badRequest('Labels: must be a map of strings');
    labels = body.Labels as Record<string, string>;
  }
  const name = body.Name;
  if (name !== undefined && name !== null && typeof name !== 'string') throw badRequest('Name: must be a string');
  return { ...(typeof name === 'string' && name !== '' ? { Name: name } : {}), Labels: labels, Role: role as NodeRole, Availability: availability as NodeAvailability };
}

function lookupNode(store: ReplicatedStore, ref: string): Node {
  try {
    return store.view((tx) => tx.lookup('nodes', ref));
  } catch (e) {
    if (isStoreError(e, 'not-found')) throw notFound(`node ${ref} not found`);
    if (isStoreError(e, 'ambiguous')) throw badRequest(`node ${ref} is ambiguous (${e.message})`);
    throw e;
  }
}

function nodeMatches(n: Node, f: Map<string, string[]>): boolean {
  const ids = f.get('id');
  if (ids && !ids.some((v) => n.ID.startsWith(v))) return false;
  const names = f.get('name');
  if (names && !names.some((v) => (n.Spec.Name ?? '').startsWith(v) || n.Description.Hostname.startsWith(v))) return false;
  const roles = f.get('role');
  if (roles && !roles.includes(n.Role)) return false;
  const membership = f.get('membership');
  if (membership && !membership.includes('accepted')) return false;
  const labelMatch = (labels: Record<string, string> | undefined, want: string[]) =>
    want.every((l) => {
      const [k, v] = l.split('=', 2) as [string, string | undefined];
      const have = labels?.[k];
      return have !== undefined && (v === undefined || have === v);
    });
  const engineLabels = f.get('label');
  if (engineLabels && !labelMatch(n.Description.Engine.Labels, engineLabels)) return false;
  const nodeLabels = f.get('node.label');
  if (nodeLabels && !labelMatch(n.Spec.Labels, nodeLabels)) return false;
  return true;
}

const truthy = (v: unknown): boolean => v === '1' || v === 'true' || v === 'True';

export function nodeRoutes(deps: NodeRoutesDeps): FastifyPluginAsync {
  const { store } = deps;
  return async (app) => {
    app.get('/nodes', async (req) => {
      const q = req.query as Record<string, string | undefined>;
      const f = parseFilters(q.filters, ['id', 'label', 'membership', 'name', 'node.label', 'role']);
      return store.view((tx) => tx.find('nodes')).filter((n) => nodeMatches(n, f)).map(renderNode);
    });

    app.get('/nodes/:id', async (req) => renderNode(lookupNode(store, (req.params as { id: string }).id)));

    app.post('/nodes/:id/update', async (req) => {
      const { id } = req.params as { id: string };
      const version = parseVersion((req.query as Record<string, unknown>).version);
      const current = lookupNode(store, id);
      const spec = parseNodeSpec(req.body, current.Spec);
      await store.update((tx) => {
        const n = tx.get('nodes', current.ID);
        if (!n) throw notFound(`node ${id} not found`);
        if (n.Spec.Role === 'manager' && spec.Role === 'worker') {
          const others = tx.find('nodes').filter((o) => o.ID !== n.ID && o.Spec.Role === 'manager');
          if (others.length === 0) throw new ControlError(400, 'rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm');
          const raftId = n.ManagerStatus?.RaftID;
          const voters = deps.voters();
          if (raftId !== undefined && voters.some((v) => v.id === raftId)) {
            const d = canRemoveMember(voters, raftId);
            if (!d.ok) throw new ControlError(400, `rpc error: code = FailedPrecondition desc = ${d.message}`);
          }
        }
        tx.update('nodes', { ...n, Meta: { ...n.Meta, Version: { Index: version } }, Spec: spec });
      });
      return {};
    });

    app.delete('/nodes/:id', async (req, reply) => {
      const { id } = req.params as { id: string };
      const force = truthy((req.query as Record<string, string | undefined>).force);
      const node = lookupNode(store, id);
      const raftId = node.ManagerStatus?.RaftID;
      if (node.Spec.Role === 'manager' || node.Role === 'manager') {
        if (raftId !== undefined && deps.voters().some((v) => v.id === raftId)) {
          throw new ControlError(400, `rpc error: code = FailedPrecondition desc = node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`);
        }
      }
      if (!force && node.Status.State === 'ready') {
        throw new ControlError(400, `rpc error: code = FailedPrecondition desc = node ${node.ID} is not down and can't be removed`);
      }
      let expiry = new Date(Date.now() + 90 * 86400_000).toISOString();
      try {
        if (node.Certificate.Certificate) expiry = parseIdentity(node.Certificate.Certificate).notAfter.toISOString();
      } catch {
        // keep the default: a node certificate lives at most this long
      }
      await store.update((tx) => {
        const n = tx.get('nodes', node.ID);
        if (!n) throw notFound(`node ${id} not found`);
        const c = tx.find('clusters')[0];
        if (c) tx.update('clusters', { ...c, BlacklistedCertificates: { ...(c.BlacklistedCertificates ?? {}), [n.ID]: { Expiry: expiry } } });
        // its tasks are orphaned (SwarmKit's orphanNodeTasks): the orchestrators replace them elsewhere
        for (const t of tx.find('tasks', { index: 'node', key: n.ID })) {
          if (['complete', 'shutdown', 'failed', 'rejected', 'orphaned'].includes(t.Status.State)) continue;
          tx.update('tasks', { ...t, Status: { ...t.Status, State: 'orphaned', Message: 'node removed', Timestamp: new Date().toISOString() } });
        }
        tx.delete('nodes', n.ID);
      });
      return reply.status(200).send();
    });
  };
}
