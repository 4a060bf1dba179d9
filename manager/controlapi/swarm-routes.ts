/**
 * The cluster object in Docker's shapes: GET /swarm (with the join tokens), POST /swarm/update
 * (?version=, rotateWorkerToken, rotateManagerToken, rotateManagerUnlockKey; the body is the SwarmSpec,
 * merged as moby does) and GET /swarm/unlockkey.
 *
 * Autolock as SwarmKit's UpdateCluster: while Spec.EncryptionConfig.AutoLockManagers is on the cluster
 * holds an unlock key (made when autolock is turned on, replaced on rotateManagerUnlockKey, which is
 * ignored while autolock is off); turning autolock off drops it. The key is stored sealed (the vault),
 * and so are the root CA key and the join tokens from then on (GET /swarm opens them); GET
 * /swarm/unlockkey shows the key as SWMKEY-1-…, or "" when there is none.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { rotateJoinToken } from '../ca/index.js';
import { formatUnlockKey, generateUnlockKey } from '../ca/kek.js';
import type { UnlockKeyVault } from '../node/unlock-key-vault.js';
import type { Cluster, ReadTx, ReplicatedStore } from '../store/index.js';
import { badRequest, ControlError } from './control-error.js';
import { parseVersion } from './node-routes.js';
import { renderSwarm } from './render-swarm.js';
import { mergeSwarmSpec } from './swarm-spec.js';

export interface SwarmRoutesDeps {
  store: ReplicatedStore;
  /** seals/opens the autolock unlock key (without one, autolock cannot be turned on) */
  unlockKeys?: UnlockKeyVault;
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
  const { store, unlockKeys } = deps;
  return async (app) => {
    /** The join tokens in clear (opened when autolock keeps them sealed). */
    const tokensOf = (tx: ReadTx, c: Cluster): { Worker: string; Manager: string } => {
      if (!c.SealedJoinTokens) return c.JoinTokens;
      if (!unlockKeys) throw new ControlError(500, 'the join tokens are sealed and this manager has no keyring to open them');
      try {
        return unlockKeys.joinTokensOf(tx, c);
      } catch (e) {
        throw new ControlError(500, `the join tokens cannot be opened on this manager: ${(e as Error).message}`);
      }
    };

    app.get('/swarm', async () => {
      const c = clusterOf(store);
      return renderSwarm(c, store.view((tx) => tokensOf(tx, c)));
    });

    app.post('/swarm/update', async (req) => {
      const q = req.query as Record<string, unknown>;
      const version = parseVersion(q.version);
      const rotateWorker = flag(q.rotateWorkerToken, 'rotateWorkerToken');
      const rotateManager = flag(q.rotateManagerToken, 'rotateManagerToken');
      const rotateUnlock = flag(q.rotateManagerUnlockKey, 'rotateManagerUnlockKey');
      const current = clusterOf(store);
      const spec = mergeSwarmSpec(current.Spec, req.body);
      const rnd = (n: number) => randomBytes(n);
      const autolock = spec.EncryptionConfig.AutoLockManagers;
      if (autolock && !unlockKeys) throw new ControlError(500, 'Spec.EncryptionConfig.AutoLockManagers: this manager cannot seal an unlock key');
      await store.update((tx) => {
        const c = tx.get('clusters', current.ID);
        if (!c) throw new ControlError(503, 'the swarm is not initialised yet');
        const tokens = { ...tokensOf(tx, c) };
        if (rotateWorker) tokens.Worker = rotateJoinToken(tokens.Worker, rnd);
        if (rotateManager) {
          tokens.Manager = rotateJoinToken(tokens.Manager, rnd);
          while (tokens.Manager === tokens.Worker) tokens.Manager = rotateJoinToken(tokens.Manager, rnd);
        }
        const { SealedUnlockKey: sealed, SealedJoinTokens: _sealedTokens, ...rest } = c;
        tx.update('clusters', { ...rest, Meta: { ...c.Meta, Version: { Index: version } }, Spec: spec, JoinTokens: tokens, ...(autolock && sealed ? { SealedUnlockKey: sealed } : {}) });
        if (autolock && unlockKeys && (!sealed || rotateUnlock)) {
          // sealing may create the secrets key (an update of the cluster in this transaction): read again after it
          const next = unlockKeys.seal(tx, generateUnlockKey(rnd));
          const now = tx.get('clusters', c.ID)!;
          tx.update('clusters', { ...now, SealedUnlockKey: next });
        }
        // while autolock is on the root CA key and the join tokens are kept sealed too (once sealed,
        // they stay sealed if autolock goes off)
        if (unlockKeys && (autolock || c.SealedJoinTokens || c.SealedRootCAKey)) tx.update('clusters', unlockKeys.sealClusterKeys(tx, tx.get('clusters', c.ID)!));
      });
      return {};
    });

    app.get('/swarm/unlockkey', async () => {
      const c = clusterOf(store);
      if (!c.SealedUnlockKey || !unlockKeys) return { UnlockKey: '' };
      let key: Buffer | undefined;
      try {
        key = store.view((tx) => unlockKeys.open(tx, c));
      } catch (e) {
        throw new ControlError(500, `the unlock key cannot be opened on this manager: ${(e as Error).message}`);
      }
      return { UnlockKey: key ? formatUnlockKey(key) : '' };
    });
  };
}
