/**
 * Where the autolock unlock key lives in the cluster: SwarmKit keeps it in the Cluster object
 * (Cluster.UnlockKeys), so every manager learns it through Raft, and the Raft log is encrypted at rest
 * by a DEK that the unlock key encrypts — a circle that is closed without the key. shoal's Raft log is
 * not encrypted at rest, so the key is stored *sealed* (Cluster.SealedUnlockKey) with the secrets key
 * (secret-keyring.ts): the same AES-256-GCM sealing as a secret's bytes, under the reserved ID below.
 * The secrets key is wrapped only for managers' TLS keys, and an autolocked manager's TLS key is on
 * disk only encrypted with the unlock key: the circle is closed here too.
 *
 * While autolock is on, the cluster root CA's private key is sealed the same way
 * (Cluster.SealedRootCAKey, Cluster.RootCAKey dropped): it is the other thing in the Raft log that would
 * let a holder of a stopped manager's disk into the cluster (it mints certificates).
 *
 * Note for the secrets keyring: if it ever rotates its key, Cluster.SealedUnlockKey and
 * Cluster.SealedRootCAKey must be re-sealed with the new key in the same transaction (the old key would
 * no longer open them).
 */
import type { SecretKeyring } from '../controlapi/secret-keyring.js';
import type { Cluster, ReadTx, Secret, WriteTx } from '../store/index.js';

/** The AADs of the sealed keys: no secret can have these IDs (IDs are 25 lowercase alphanumerics). */
export const UNLOCK_KEY_SEAL_ID = 'swarm-unlock-key';
export const ROOT_CA_KEY_SEAL_ID = 'swarm-root-ca-key';

/** Seals and opens the unlock key in the cluster object. */
export interface UnlockKeyVault {
  /** In a write transaction on the leader: `key` sealed (creating the secrets key if there is none). */
  seal(tx: WriteTx, key: Buffer): string;
  /** The cluster's unlock key, undefined when it has none; throws when this manager cannot open it (yet). */
  open(tx: ReadTx, cluster: Cluster): Buffer | undefined;
  /**
   * In a write transaction on the leader: the cluster object with its root CA key sealed
   * (SealedRootCAKey set, RootCAKey dropped); the same object when it is sealed already.
   */
  sealRootKey(tx: WriteTx, cluster: Cluster): Cluster;
  /** The root CA key (PEM): in clear, or opened; undefined when the cluster has none. Throws as `open`. */
  openRootKey(tx: ReadTx, cluster: Cluster): string | undefined;
}

/** A sealed value presented as a Secret, the shape the keyring opens (only ID and SealedData are read). */
function asSecret(id: string, cluster: Cluster, sealed: string): Secret {
  return { ID: id, Meta: cluster.Meta, Spec: { Name: id }, SealedData: sealed };
}

export function unlockKeyVault(keyring: SecretKeyring): UnlockKeyVault {
  return {
    seal: (tx, key) => keyring.seal(tx, UNLOCK_KEY_SEAL_ID, key),
    open: (tx, cluster) => (cluster.SealedUnlockKey ? keyring.open(tx, asSecret(UNLOCK_KEY_SEAL_ID, cluster, cluster.SealedUnlockKey)) : undefined),
    sealRootKey: (tx, cluster) => {
      if (!cluster.RootCAKey) return cluster;
      const sealed = keyring.seal(tx, ROOT_CA_KEY_SEAL_ID, Buffer.from(cluster.RootCAKey));
      // sealing may have written the secrets key into the cluster object: start from the current one
      const { RootCAKey: _clear, ...rest } = tx.get('clusters', cluster.ID) ?? cluster;
      return { ...rest, SealedRootCAKey: sealed };
    },
    openRootKey: (tx, cluster) => {
      if (cluster.RootCAKey) return cluster.RootCAKey;
      if (!cluster.SealedRootCAKey) return undefined;
      return keyring.open(tx, asSecret(ROOT_CA_KEY_SEAL_ID, cluster, cluster.SealedRootCAKey)).toString('utf8');
    },
  };
}
