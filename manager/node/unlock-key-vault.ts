/**
 * Where the autolock unlock key lives in the cluster: SwarmKit keeps it in the Cluster object
 * (Cluster.UnlockKeys), so every manager learns it through Raft, and the Raft log is encrypted at rest
 * by a DEK that the unlock key encrypts — a circle that is closed without the key. shoal's Raft log is
 * not encrypted at rest, so the key is stored *sealed* (Cluster.SealedUnlockKey) with the secrets key
 * (secret-keyring.ts): the same AES-256-GCM sealing as a secret's bytes, under the reserved ID below.
 * The secrets key is wrapped only for managers' TLS keys, and an autolocked manager's TLS key is on
 * disk only encrypted with the unlock key: the circle is closed here too.
 *
 * Note for the secrets keyring: if it ever rotates its key, Cluster.SealedUnlockKey must be re-sealed
 * with the new key in the same transaction (the old key would no longer open it).
 */
import type { SecretKeyring } from '../controlapi/secret-keyring.js';
import type { Cluster, ReadTx, Secret, WriteTx } from '../store/index.js';

/** The AAD of the sealed unlock key: no secret can have this ID (IDs are 25 lowercase alphanumerics). */
export const UNLOCK_KEY_SEAL_ID = 'swarm-unlock-key';

/** Seals and opens the unlock key in the cluster object. */
export interface UnlockKeyVault {
  /** In a write transaction on the leader: `key` sealed (creating the secrets key if there is none). */
  seal(tx: WriteTx, key: Buffer): string;
  /** The cluster's unlock key, undefined when it has none; throws when this manager cannot open it (yet). */
  open(tx: ReadTx, cluster: Cluster): Buffer | undefined;
}

export function unlockKeyVault(keyring: SecretKeyring): UnlockKeyVault {
  return {
    seal: (tx, key) => keyring.seal(tx, UNLOCK_KEY_SEAL_ID, key),
    open: (tx, cluster) => {
      const sealed = cluster.SealedUnlockKey;
      if (!sealed) return undefined;
      // the keyring opens a Secret: the sealed key presented as one (only its ID and SealedData are read)
      const asSecret: Secret = {
        ID: UNLOCK_KEY_SEAL_ID,
        Meta: cluster.Meta,
        Spec: { Name: UNLOCK_KEY_SEAL_ID },
        SealedData: sealed,
      };
      return keyring.open(tx, asSecret);
    },
  };
}
