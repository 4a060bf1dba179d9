/**
 * A node's certificates on disk, where SwarmKit keeps them: D/certificates/{swarm-root-ca.crt,
 * swarm-node.crt, swarm-node.key}. Each file is written to a temporary name, fsynced and renamed over
 * the old one (then the directory is fsynced), so a crash leaves either the old or the new file. The
 * key is mode 0600. The key is written before the certificate, so a certificate on disk always has its
 * key.
 *
 * Autolock: while a KEK (the swarm's unlock key) is set, the key file holds the key encrypted under it
 * (kek.ts) and `read` needs the KEK to return it; `rekey` re-writes the key under another KEK (or in
 * clear). Writes are serialised, so a certificate renewal and a KEK change cannot interleave.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthorityError } from './ca-error.js';
import { decryptKeyPem, encryptKeyPem, isEncryptedKeyPem, sameKek } from './kek.js';

export interface StoredIdentity {
  rootPem: string;
  certPem: string;
  keyPem: string;
}

export const ROOT_FILE = 'swarm-root-ca.crt';
export const CERT_FILE = 'swarm-node.crt';
export const KEY_FILE = 'swarm-node.key';

export class KeyStore {
  readonly dir: string;
  private kekValue: Buffer | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** `stateDir` is the node's state directory D; files go in D/certificates. */
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'certificates');
  }

  paths(): { root: string; cert: string; key: string } {
    return { root: join(this.dir, ROOT_FILE), cert: join(this.dir, CERT_FILE), key: join(this.dir, KEY_FILE) };
  }

  /** The KEK the key is (or will be) written under; undefined: in clear. */
  get kek(): Buffer | undefined {
    return this.kekValue;
  }

  /** Sets the KEK for the next writes (init of an autolocked swarm, before the first write). */
  setKek(kek: Buffer | undefined): void {
    this.kekValue = kek === undefined ? undefined : Buffer.from(kek);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  write(id: StoredIdentity): Promise<void> {
    return this.serial(() => this.writeNow(id));
  }

  private async writeNow(id: StoredIdentity): Promise<void> {
    for (const [what, v] of Object.entries(id)) {
      if (typeof v !== 'string' || !v.includes('-----BEGIN ')) throw new CertificateAuthorityError(400, `${what} is not PEM`);
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const p = this.paths();
    await writeAtomic(p.key, this.kekValue ? encryptKeyPem(id.keyPem, this.kekValue) : id.keyPem, 0o600);
    await writeAtomic(p.root, id.rootPem, 0o644);
    await writeAtomic(p.cert, id.certPem, 0o644);
    await syncDir(this.dir);
  }

  /** Writes only the root (a node that trusts a new root before it has a new certificate). */
  writeRoot(rootPem: string): Promise<void> {
    return this.serial(() => this.writeRootNow(rootPem));
  }

  private async writeRootNow(rootPem: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.paths().root, rootPem, 0o644);
    await syncDir(this.dir);
  }

  /**
   * The stored identity with the key in clear, or undefined when the node has none yet (no certificate
   * file). An encrypted key needs the KEK: KeyLockedError('locked') without one, ('invalid-key') when
   * the KEK set does not open it.
   */
  async read(): Promise<StoredIdentity | undefined> {
    const raw = await this.readRaw();
    if (!raw) return undefined;
    return { ...raw, keyPem: decryptKeyPem(raw.keyPem, this.kekValue, raw.certPem) };
  }

  /** Whether the key file on disk is encrypted (an autolocked manager's). */
  async encrypted(): Promise<boolean> {
    const raw = await this.readRaw();
    return raw !== undefined && isEncryptedKeyPem(raw.keyPem);
  }

  /**
   * Opens the stored identity with `kek` (an unlock): on success the KEK is kept for later writes.
   * Throws KeyLockedError('invalid-key') when `kek` does not open the key; a key file in clear opens
   * with any KEK (and the KEK is then not kept).
   */
  async unlock(kek: Buffer): Promise<StoredIdentity> {
    const raw = await this.readRaw();
    if (!raw) throw new CertificateAuthorityError(500, `no node identity in ${this.dir}`);
    const keyPem = decryptKeyPem(raw.keyPem, kek, raw.certPem);
    if (isEncryptedKeyPem(raw.keyPem)) this.kekValue = Buffer.from(kek);
    return { ...raw, keyPem };
  }

  /**
   * Re-writes the key under `kek` (undefined: in clear) and keeps `kek` for later writes. Returns
   * false when nothing changed. The key is read with the current KEK.
   */
  rekey(kek: Buffer | undefined): Promise<boolean> {
    return this.serial(async () => {
      const raw = await this.readRaw();
      if (!raw) {
        this.setKek(kek);
        return false;
      }
      const wantEncrypted = kek !== undefined;
      if (sameKek(kek, this.kekValue) && isEncryptedKeyPem(raw.keyPem) === wantEncrypted) return false;
      const clear = decryptKeyPem(raw.keyPem, this.kekValue, raw.certPem);
      await writeAtomic(this.paths().key, kek ? encryptKeyPem(clear, kek) : clear, 0o600);
      await syncDir(this.dir);
      this.setKek(kek);
      return true;
    });
  }

  /** The files as stored (the key possibly encrypted). */
  private async readRaw(): Promise<StoredIdentity | undefined> {
    const p = this.paths();
    const get = async (f: string) => {
      try {
        return await readFile(f, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    };
    const [rootPem, certPem, keyPem] = await Promise.all([get(p.root), get(p.cert), get(p.key)]);
    if (certPem === undefined && keyPem === undefined && rootPem === undefined) return undefined;
    if (rootPem === undefined || certPem === undefined || keyPem === undefined) {
      const missing = [[ROOT_FILE, rootPem], [CERT_FILE, certPem], [KEY_FILE, keyPem]].filter(([, v]) => v === undefined).map(([f]) => f);
      throw new CertificateAuthorityError(500, `incomplete node identity in ${this.dir}: missing ${missing.join(', ')}`);
    }
    return { rootPem, certPem, keyPem };
  }

  /** Deletes the stored identity (swarm leave). */
  remove(): Promise<void> {
    return this.serial(async () => {
      await rm(this.dir, { recursive: true, force: true });
      this.kekValue = undefined;
    });
  }
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // the umask may have narrowed or the file pre-existed
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
