/**
 * Where the autolock unlock key lives in the cluster: SwarmKit keeps it in the Cluster object
 * (Cluster.UnlockKeys), so every manager learns it through Raft, and the Raft log is encrypted at rest
 * by a DEK that the unlock key encrypts — a circle that is closed without the key. shoal's Raft log is
 * not encrypted at rest, so the key is stored *sealed* (Cluster.SealedUnlockKey) with the secrets key
 * (secret-keyring.ts): the same AES-256-GCM sealing as a secret's bytes, under the reserved ID below.
 * The secrets key is wrapped only for managers' TLS keys, and an autolocked manager's TLS key is on
 * disk only encrypted with the unlock key: the circle is closed here too.
 *
 * While autolock is on, the other things in the Raft log that would let a holder of a stopped manager's
 * disk into the cluster are sealed the same way: the root CA's private key (it mints certificates:
 * Cluster.SealedRootCAKey, RootCAKey dropped) and the join tokens (a manager token joins a manager,
 * which is then given every key: Cluster.SealedJoinTokens, JoinTokens left empty). Once sealed they
 * stay sealed, also if autolock is turned off.
 *
 * Note for the secrets keyring: if it ever rotates its key, the Sealed* fields of the cluster object
 * must be re-sealed with the new key in the same transaction (the old key would no longer open them).
 */
import type { SecretKeyring } from '../controlapi/secret-keyring.js';
import type { Cluster, ReadTx, Secret, WriteTx } from '../store/index.js';

/** The AADs of the sealed keys: no secret can have these IDs (IDs are 25 lowercase alphanumerics). */
export const UNLOCK_KEY_SEAL_ID = 'swarm-unlock-key';
export const ROOT_CA_KEY_SEAL_ID = 'swarm-root-ca-key';
export const JOIN_TOKENS_SEAL_ID = 'swarm-join-tokens';

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

/** Seals and opens the unlock key in the cluster object. */
export interface UnlockKeyVault {
  /** In a write transaction on the leader: `key` sealed (creating the secrets key if there is none). */
  seal(tx: WriteTx, key: Buffer): string;
  /** The cluster's unlock key, undefined when it has none; throws when this manager cannot open it (yet). */
  open(tx: ReadTx, cluster: Cluster): Buffer | undefined;
  /**
   * In a write transaction on the leader, `cluster` being the transaction's current object: the object
   * with its root CA key and join tokens sealed (SealedRootCAKey and SealedJoinTokens set, RootCAKey
   * dropped, JoinTokens empty). What is sealed already stays as it is.
   */
  sealClusterKeys(tx: WriteTx, cluster: Cluster): Cluster;
  /** The root CA key (PEM): in clear, or opened; undefined when the cluster has none. Throws as `open`. */
  openRootKey(tx: ReadTx, cluster: Cluster): string | undefined;
  /** The join tokens: in clear, or opened. Throws as `open`. */
  joinTokensOf(tx: ReadTx, cluster: Cluster): JoinTokens;
}

/** A sealed value presented as a Secret, the shape the keyring opens (only ID and SealedData are read). */
function asSecret(id: string, cluster: Cluster, sealed: string): Secret {
  return { ID: id, Meta: cluster.Meta, Spec: { Name: id }, SealedData: sealed };
}

export function unlockKeyVault(keyring: SecretKeyring): UnlockKeyVault {
  return {
    seal: (tx, key) => keyring.seal(tx, UNLOCK_KEY_SEAL_ID, key),
    open: (tx, cluster) => (cluster.SealedUnlockKey ? keyring.open(tx, asSecret(UNLOCK_KEY_SEAL_ID, cluster, cluster.SealedUnlockKey)) : undefined),
    sealClusterKeys: (tx, cluster) => {
      const rootKey = cluster.RootCAKey;
      const tokens = cluster.JoinTokens.Worker !== '' || cluster.JoinTokens.Manager !== '' ? cluster.JoinTokens : undefined;
      if (!rootKey && !tokens) return cluster;
      const sealedRoot = rootKey ? keyring.seal(tx, ROOT_CA_KEY_SEAL_ID, Buffer.from(rootKey)) : undefined;
      const sealedTokens = tokens ? keyring.seal(tx, JOIN_TOKENS_SEAL_ID, Buffer.from(JSON.stringify({ Worker: tokens.Worker, Manager: tokens.Manager }))) : undefined;
      // sealing may have written the secrets key into the cluster object: start from the current one
      const { RootCAKey: _clear, ...rest } = tx.get('clusters', cluster.ID) ?? cluster;
      return {
        ...rest,
        ...(sealedRoot ? { SealedRootCAKey: sealedRoot } : {}),
        ...(sealedTokens ? { SealedJoinTokens: sealedTokens, JoinTokens: { Worker: '', Manager: '' } } : {}),
      };
    },
    openRootKey: (tx, cluster) => {
      if (cluster.RootCAKey) return cluster.RootCAKey;
      if (!cluster.SealedRootCAKey) return undefined;
      return keyring.open(tx, asSecret(ROOT_CA_KEY_SEAL_ID, cluster, cluster.SealedRootCAKey)).toString('utf8');
    },
    joinTokensOf: (tx, cluster) => {
      if (!cluster.SealedJoinTokens) return cluster.JoinTokens;
      const t = JSON.parse(keyring.open(tx, asSecret(JOIN_TOKENS_SEAL_ID, cluster, cluster.SealedJoinTokens)).toString('utf8')) as Partial<JoinTokens>;
      if (typeof t.Worker !== 'string' || typeof t.Manager !== 'string') throw new Error('the sealed join tokens do not hold two tokens');
      return { Worker: t.Worker, Manager: t.Manager };
    },
  };
}
