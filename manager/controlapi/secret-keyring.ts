/**
 * A manager's access to the cluster's secrets key. The DEK lives in the Cluster object only wrapped for
 * each manager's TLS key (Cluster.SecretsKeys.Managers[nodeId]); this manager unwraps its own entry with
 * its private key (certificates/swarm-node.key, never in Raft) and keeps the DEK in memory.
 *
 * - `seal` (the leader, in the write transaction that creates a secret) creates the DEK on first use and
 *   wraps it for every manager that has a certificate, itself included.
 * - `reveal` turns a stored secret (SealedData) into the Docker shape with Spec.Data, for the dispatcher
 *   sending it to a node that runs a task referencing it. Nothing else ever needs the clear bytes.
 * - `loop()` is a leader loop that wraps the DEK for managers that join or renew to a new key, and drops
 *   the entries of nodes that are no longer managers.
 *
 * Limits (honest): anyone holding one manager's private key and a copy of the Raft data can decrypt the
 * secrets (the same as SwarmKit without autolock); a demoted manager keeps what it had; there is no DEK
 * rotation yet; a manager that becomes leader before any leader wrapped the DEK for it cannot deliver
 * secrets until another manager that can re-wraps it (it logs so).
 */
import { createPrivateKey, createPublicKey, randomBytes as nodeRandomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import type { LeaderLoop, LeaderLoopContext } from '../node/leader-loop.js';
import type { Cluster, ReadTx, ReplicatedStore, Secret, Watcher, WrappedSecretsKey, WriteTx } from '../store/index.js';
import { DEK_BYTES, openData, publicKeyFingerprint, sealData, sealedKeyId, SecretCryptoError, unwrapKey, wrapKey } from './secret-crypto.js';

export interface SecretKeyringOptions {
  /** this manager's node ID (its entry in Cluster.SecretsKeys.Managers) */
  nodeId: string;
  /**
   * This manager's TLS private key (PKCS#8 PEM or a KeyObject), EC P-256 — or a function giving the
   * current one (certificate renewal may bring a new key; the leader then wraps for it).
   */
  privateKey: string | KeyObject | (() => string | KeyObject);
  /** the store, for reveal() outside a transaction (also taken from the loop's context) */
  store?: ReplicatedStore;
  /** random bytes (injected in tests); default node:crypto */
  randomBytes?: (n: number) => Buffer;
}

export { SecretCryptoError };

const idChars = '0123456789abcdefghijklmnopqrstuvwxyz';

export class SecretKeyring {
  readonly nodeId: string;
  private readonly keySource: () => string | KeyObject;
  private keyCache: { from: string | KeyObject; key: KeyObject; fingerprint: string } | undefined;
  private readonly random: (n: number) => Buffer;
  private store: ReplicatedStore | undefined;
  private readonly deks = new Map<string, Buffer>();

  constructor(opts: SecretKeyringOptions) {
    this.nodeId = opts.nodeId;
    const pk = opts.privateKey;
    this.keySource = typeof pk === 'function' ? pk : () => pk;
    this.current(); // a bad key fails here, not at the first secret
    this.random = opts.randomBytes ?? nodeRandomBytes;
    this.store = opts.store;
  }

  /** This manager's key now (and its public key's fingerprint). */
  private current(): { key: KeyObject; fingerprint: string } {
    const from = this.keySource();
    if (this.keyCache?.from === from) return this.keyCache;
    const key = typeof from === 'string' ? createPrivateKey(from) : from;
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ec') throw new SecretCryptoError('secrets keyring: the manager key must be an EC private key');
    this.keyCache = { from, key, fingerprint: publicKeyFingerprint(createPublicKey(key)) };
    return this.keyCache;
  }

  /** The DEK with `keyId`, unwrapped from this manager's entry of the cluster object (cached). */
  private dek(cluster: Cluster | undefined, keyId: string): Buffer {
    const have = this.deks.get(keyId);
    if (have) return have;
    const keys = cluster?.SecretsKeys;
    if (!keys || keys.KeyID !== keyId) throw new SecretCryptoError(`the secrets key ${keyId} is not in the cluster object`);
    const { key, fingerprint } = this.current();
    const mine = keys.Managers[this.nodeId] ?? Object.values(keys.Managers).find((w) => w.Recipient === fingerprint);
    if (!mine || mine.Recipient !== fingerprint) {
      throw new SecretCryptoError(`the secrets key has not been wrapped for this manager (${this.nodeId}) yet`);
    }
    const dek = unwrapKey(mine, key);
    this.deks.set(keyId, dek);
    return dek;
  }

  private newKeyId(): string {
    return [...this.random(16)].map((b) => idChars[b % 36]).join('');
  }

  /** The wrapped entries the cluster should hold for `dek`: every manager with a certificate, and this one. */
  private wrapAll(tx: ReadTx, keyId: string, dek: Buffer, have: Record<string, WrappedSecretsKey>): Record<string, WrappedSecretsKey> {
    const want = new Map<string, KeyObject>();
    for (const n of tx.find('nodes', { index: 'role', key: 'manager' })) {
      if (n.ID === this.nodeId || !n.Certificate?.Certificate?.includes('BEGIN CERTIFICATE')) continue;
      try {
        want.set(n.ID, new X509Certificate(n.Certificate.Certificate).publicKey);
      } catch {
        // a certificate that does not parse gets no key; the node cannot have connected with it either
      }
    }
    want.set(this.nodeId, createPublicKey(this.current().key));
    const out: Record<string, WrappedSecretsKey> = {};
    for (const [id, pub] of want) {
      const fp = publicKeyFingerprint(pub);
      const old = have[id];
      out[id] = old && old.KeyID === keyId && old.Recipient === fp ? old : wrapKey(dek, keyId, pub, this.ephemeral());
    }
    return out;
  }

  private ephemeral(): Buffer {
    // a valid P-256 scalar: 32 random bytes, nonzero and (with overwhelming probability) below the order
    for (;;) {
      const b = this.random(32);
      if (b.some((x) => x !== 0) && b[0]! < 0xff) return b;
    }
  }

  /**
   * In a write transaction on the leader: the current key, created (and wrapped for the managers) when
   * the cluster has none. Throws SecretCryptoError when the key exists but cannot be unwrapped here.
   */
  ensure(tx: WriteTx): { keyId: string; dek: Buffer } {
    const cluster = tx.find('clusters')[0];
    if (!cluster) throw new SecretCryptoError('the cluster object is missing: secrets need an initialised swarm');
    if (cluster.SecretsKeys) return { keyId: cluster.SecretsKeys.KeyID, dek: this.dek(cluster, cluster.SecretsKeys.KeyID) };
    const keyId = this.newKeyId();
    const dek = Buffer.from(this.random(DEK_BYTES));
    const Managers = this.wrapAll(tx, keyId, dek, {});
    tx.update('clusters', { ...cluster, SecretsKeys: { KeyID: keyId, Managers } });
    this.deks.set(keyId, dek);
    return { keyId, dek };
  }

  /** Seals `data` for secret `secretId` (in the transaction that creates it). */
  seal(tx: WriteTx, secretId: string, data: Buffer): string {
    const { keyId, dek } = this.ensure(tx);
    return sealData(dek, keyId, secretId, data);
  }

  /** Whether `data` is what `secret` holds (an update may repeat the data, never change it). */
  sameData(tx: ReadTx, secret: Secret, data: Buffer): boolean {
    if (!secret.SealedData) return false;
    const keyId = sealedKeyId(secret.SealedData);
    return sealData(this.dek(tx.find('clusters')[0], keyId), keyId, secret.ID, data) === secret.SealedData;
  }

  /** The secret's bytes. */
  open(tx: ReadTx, secret: Secret): Buffer {
    if (!secret.SealedData) throw new SecretCryptoError(`secret ${secret.ID} holds no sealed data`);
    const keyId = sealedKeyId(secret.SealedData);
    return openData(this.dek(tx.find('clusters')[0], keyId), secret.SealedData, secret.ID);
  }

  /**
   * The secret as a node receives it: Spec.Data (base64) filled in, SealedData left out. Reads the
   * cluster object from `tx`, or from the store when no transaction is given.
   */
  reveal(secret: Secret, tx?: ReadTx): Secret {
    if (!secret.SealedData) return secret;
    const data = tx
      ? this.open(tx, secret)
      : this.deks.has(sealedKeyId(secret.SealedData))
        ? openData(this.deks.get(sealedKeyId(secret.SealedData))!, secret.SealedData, secret.ID)
        : this.requireStore().view((t) => this.open(t, secret));
    const { SealedData: _sealed, ...rest } = secret;
    return { ...rest, Spec: { ...secret.Spec, Data: data.toString('base64') } };
  }

  private requireStore(): ReplicatedStore {
    if (!this.store) throw new SecretCryptoError('secrets keyring: no store to read the cluster object from');
    return this.store;
  }

  /**
   * In a write transaction: brings Cluster.SecretsKeys.Managers in line with the managers (wraps for new
   * ones and renewed keys, drops non-managers). Returns false when nothing needed changing, or when
   * this manager cannot unwrap the key (then another manager must).
   */
  rewrap(tx: WriteTx): boolean {
    const cluster = tx.find('clusters')[0];
    const keys = cluster?.SecretsKeys;
    if (!cluster || !keys) return false;
    let dek: Buffer;
    try {
      dek = this.dek(cluster, keys.KeyID);
    } catch {
      return false;
    }
    const next = this.wrapAll(tx, keys.KeyID, dek, keys.Managers);
    const same = Object.keys(next).length === Object.keys(keys.Managers).length && Object.entries(next).every(([id, w]) => keys.Managers[id] === w);
    if (same) return false;
    tx.update('clusters', { ...cluster, SecretsKeys: { KeyID: keys.KeyID, Managers: next } });
    return true;
  }

  /** Whether this manager can unwrap the current key (false also when there is no key yet). */
  canUnwrap(tx: ReadTx): boolean {
    const c = tx.find('clusters')[0];
    if (!c?.SecretsKeys) return false;
    try {
      this.dek(c, c.SecretsKeys.KeyID);
      return true;
    } catch {
      return false;
    }
  }

  /** The leader loop that keeps the wrapped keys in line with the managers. */
  loop(): LeaderLoop {
    return new SecretKeyLoop(this, (s) => {
      this.store = s;
    });
  }
}

class SecretKeyLoop implements LeaderLoop {
  readonly name = 'secret-keys';
  private watcher: Watcher | undefined;
  private busy: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private warned = false;

  constructor(
    private readonly ring: SecretKeyring,
    private readonly useStore: (s: ReplicatedStore) => void,
  ) {}

  start(ctx: LeaderLoopContext): void {
    this.stopped = false;
    this.useStore(ctx.store);
    const w = ctx.store.watch({ tables: ['nodes', 'clusters'], queueLimit: 100_000 });
    this.watcher = w;
    const run = (): void => {
      if (this.stopped) return;
      if (this.busy) {
        this.again = true;
        return;
      }
      this.busy = ctx.store
        .update((tx) => {
          if (!tx.find('clusters')[0]) return;
          if (!tx.find('clusters')[0]!.SecretsKeys) {
            this.ring.ensure(tx);
            return;
          }
          if (!this.ring.rewrap(tx) && !this.ring.canUnwrap(tx) && !this.warned) {
            this.warned = true;
            ctx.log.warn({ nodeId: this.ring.nodeId }, 'the secrets key was never wrapped for this manager: secrets cannot be delivered until a manager that holds it leads');
          }
        })
        .then(
          () => undefined,
          (e: unknown) => {
            if (!this.stopped) ctx.log.debug({ loop: this.name, err: (e as Error).message }, 'secrets key pass failed');
          },
        )
        .finally(() => {
          this.busy = undefined;
          if (this.again) {
            this.again = false;
            run();
          }
        });
    };
    void (async () => {
      try {
        for await (const _ of w) run();
      } catch {
        // closed by stop() or a snapshot restore; the next start reads again
      }
    })();
    run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    await this.busy;
  }
}
