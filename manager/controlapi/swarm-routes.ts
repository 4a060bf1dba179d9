/**
 * The cluster object in Docker's shapes: GET /swarm (with the join tokens), POST /swarm/update
 * (?version=, rotateWorkerToken, rotateManagerToken, rotateManagerUnlockKey; the body is the SwarmSpec,
 * merged as moby does) and GET /swarm/unlockkey (autolock is not supported: always empty).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { rotateJoinToken } from '../ca/index.js';
import type { Cluster, ReplicatedStore } from '../store/index.js';
import { badRequest, ControlError } from './control-error.js';
import { parseVersion } from './node-routes.js';
import { renderSwarm } from './render-swarm.js';
import { mergeSwarmSpec } from './swarm-spec.js';

export interface SwarmRoutesDeps {
  store: ReplicatedStore;
}

const flag = (v: unknown, name: string): boolean => {
  if (v === undefined || v === '' || v === '0' || v === 'false' || v === 'False') return false;
  if (v === '1' || v === 'true' || v === 'True') return true;
  throw badRequest(`${name}: invalid boolean ${JSON.stringify(v)}`);
};

function clusterOf(store: ReplicatedStore): Cluster {
  const c = store.view((tx) => tx.find('clusters')[0]);
  if (!c) throw new ControlError(503, 'the swarm is not initialised yet');
  return c;
}

export function swarmRoutes(deps: SwarmRoutesDeps): FastifyPluginAsync {
  const { store } = deps;
  return async (app) => {
    app.get('/swarm', async () => renderSwarm(clusterOf(store)));

    app.post('/swarm/update', async (req) => {
      const q = req.query as Record<string, unknown>;
      const version = parseVersion(q.version);
      const rotateWorker = flag(q.rotateWorkerToken, 'rotateWorkerToken');
      const rotateManager = flag(q.rotateManagerToken, 'rotateManagerToken');
      if (flag(q.rotateManagerUnlockKey, 'rotateManagerUnlockKey')) throw badRequest('rotateManagerUnlockKey: autolock is not supported by shoal');
      const current = clusterOf(store);
      const spec = mergeSwarmSpec(current.Spec, req.body);
      const rnd = (n: number) => randomBytes(n);
      await store.update((tx) => {
        const c = tx.get('clusters', current.ID);
        if (!c) throw new ControlError(503, 'the swarm is not initialised yet');
        const tokens = { ...c.JoinTokens };
        if (rotateWorker) tokens.Worker = rotateJoinToken(tokens.Worker, rnd);
        if (rotateManager) {
          tokens.Manager = rotateJoinToken(tokens.Manager, rnd);
          while (tokens.Manager === tokens.Worker) tokens.Manager = rotateJoinToken(tokens.Manager, rnd);
        }
        tx.update('clusters', { ...c, Meta: { ...c.Meta, Version: { Index: version } }, Spec: spec, JoinTokens: tokens });
      });
      return {};
    });

    app.get('/swarm/unlockkey', async () => ({ UnlockKey: '' }));
  };
}
