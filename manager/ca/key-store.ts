/**
 * A node's certificates on disk, where SwarmKit keeps them: D/certificates/{swarm-root-ca.crt,
 * swarm-node.crt, swarm-node.key}. Each file is written to a temporary name, fsynced and renamed over
 * the old one (then the directory is fsynced), so a crash leaves either the old or the new file. The
 * key is mode 0600. The key is written before the certificate, so a certificate on disk always has its
 * key.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthorityError } from './ca-error.js';

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

  /** `stateDir` is the node's state directory D; files go in D/certificates. */
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'certificates');
  }

  paths(): { root: string; cert: string; key: string } {
    return { root: join(this.dir, ROOT_FILE), cert: join(this.dir, CERT_FILE), key: join(this.dir, KEY_FILE) };
  }

  async write(id: StoredIdentity): Promise<void> {
    for (const [what, v] of Object.entries(id)) {
      if (typeof v !== 'string' || !v.includes('-----BEGIN ')) throw new CertificateAuthorityError(400, `${what} is not PEM`);
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const p = this.paths();
    await writeAtomic(p.key, id.keyPem, 0o600);
    await writeAtomic(p.root, id.rootPem, 0o644);
    await writeAtomic(p.cert, id.certPem, 0o644);
    await syncDir(this.dir);
  }

  /** Writes only the root (a node that trusts a new root before it has a new certificate). */
  async writeRoot(rootPem: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.paths().root, rootPem, 0o644);
    await syncDir(this.dir);
  }

  /** The stored identity, or undefined when the node has none yet (no certificate file). */
  async read(): Promise<StoredIdentity | undefined> {
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
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
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
