/**
 * Keeps this manager's TLS key file in step with the cluster's autolock setting (SwarmKit's
 * Manager.updateKEK): on every manager, leader or not, it watches the Cluster object; while autolock is
 * on the key file is re-written encrypted under the current unlock key (after `swarm update --autolock`,
 * after `unlock-key --rotate`, after an unlock with a key rotated since), and when autolock is turned
 * off it is re-written in clear. A manager that cannot open the sealed key yet (the secrets key not yet
 * wrapped for it) keeps its file as it is and tries again at the next change of the Cluster object.
 */
import type { Cluster, ReplicatedStore } from '../store/index.js';
import type { Logger } from './leader-loop.js';
import type { UnlockKeyVault } from './unlock-key-vault.js';

/** The KEK this node writes its key under (KeyStore). */
export interface KekHolder {
  readonly kek: Buffer | undefined;
  rekey(kek: Buffer | undefined): Promise<boolean>;
}

export type KekDecision =
  | { kind: 'clear' }
  | { kind: 'key'; key: Buffer }
  /** leave the file as it is (no cluster yet, or the key cannot be opened here yet) */
  | { kind: 'keep'; reason: string };

/** What the key file should be under, given the cluster object. Pure but for `open`. */
export function kekDecision(cluster: Cluster | undefined, open: (c: Cluster) => Buffer | undefined): KekDecision {
  if (!cluster) return { kind: 'keep', reason: 'no cluster object yet' };
  if (!cluster.Spec.EncryptionConfig?.AutoLockManagers || !cluster.SealedUnlockKey) return { kind: 'clear' };
  try {
    const key = open(cluster);
    return key ? { kind: 'key', key } : { kind: 'clear' };
  } catch (e) {
    return { kind: 'keep', reason: (e as Error).message };
  }
}

export interface AutolockWatcherOptions {
  store: ReplicatedStore;
  vault: UnlockKeyVault;
  keys: KekHolder;
  log: Logger;
  /** told after the key file went from clear to encrypted (SwarmKit renews the TLS certificate then) */
  onLocked?: () => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class AutolockWatcher {
  private stopped = true;
  private busy: Promise<void> | undefined;
  private again = false;
  private closeWatch: (() => void) | undefined;
  private lastKeep = '';
  private running: Promise<void> | undefined;

  constructor(private readonly o: AutolockWatcherOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.running = this.watchLoop();
  }

  /** Watches the clusters table; a watch closed under it (a snapshot restore, a slow queue) is opened again. */
  private async watchLoop(): Promise<void> {
    while (!this.stopped) {
      const w = this.o.store.watch({ tables: ['clusters'], queueLimit: 10_000 });
      this.closeWatch = () => w.close();
      this.kick();
      try {
        for await (const _ of w) this.kick();
      } catch {
        // closed: by stop() or by the store
      }
      if (!this.stopped) await sleep(200);
    }
  }

  /** Runs one pass, or one more after the current one. */
  private kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = this.pass()
      .catch((e: unknown) => this.o.log.error({ err: (e as Error).message }, 'autolock: could not re-write the node key'))
      .finally(() => {
        this.busy = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async pass(): Promise<void> {
    const d = this.o.store.view((tx) => kekDecision(tx.find('clusters')[0], (c) => this.o.vault.open(tx, c)));
    if (d.kind === 'keep') {
      if (d.reason !== this.lastKeep) this.o.log.debug({ reason: d.reason }, 'autolock: node key left as it is');
      this.lastKeep = d.reason;
      return;
    }
    this.lastKeep = '';
    const want = d.kind === 'key' ? d.key : undefined;
    const before = this.o.keys.kek;
    // rekey also checks the file itself (a KEK set but the file still in clear is written too)
    const changed = await this.o.keys.rekey(want);
    if (!changed) return;
    if (want && !before) {
      this.o.log.info({}, 'autolock: the node key is now encrypted with the unlock key');
      this.o.onLocked?.();
    } else if (want) this.o.log.info({}, 'autolock: the node key is re-encrypted with the rotated unlock key');
    else this.o.log.info({}, 'autolock turned off: the node key is written in clear');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.closeWatch?.();
    await this.running?.catch(() => undefined);
    await this.busy;
  }
}
