/** Container records in memory and on disk (`<root>/<id>/state.json`, written atomically), with name/id lookup. */
import { mkdir, readdir, readFile, rename, rm, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { badRequest, conflict, notFound } from './errors.js';
import type { ContainerRecord } from './types.js';

// Docker requires two characters or more; one is accepted here too (the issue's `docker run --name w`)
const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateName(name: string): string {
  if (!NAME_RE.test(name)) throw badRequest(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.replace(/^\//, '');
}

function isRecord(v: unknown): v is ContainerRecord {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.version === 1 && typeof o.id === 'string' && /^[0-9a-f]{64}$/.test(o.id) && typeof o.name === 'string' && typeof o.state === 'object' && o.state !== null;
}

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  /** names being created (reserved before the record exists) */
  private readonly reserved = new Set<string>();

  private constructor(readonly root: string) {}

  static async open(root: string): Promise<ContainerStore> {
    await mkdir(root, { recursive: true });
    const s = new ContainerStore(root);
    for (const id of await readdir(root)) {
      try {
        const v: unknown = JSON.parse(await readFile(join(root, id, 'state.json'), 'utf8'));
        if (isRecord(v) && v.id === id) s.byId.set(id, v);
      } catch {
        // no state: a create that did not finish; the manager cleans it up
      }
    }
    return s;
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Ids of directories that have no record (interrupted creates). */
  async orphanDirs(): Promise<string[]> {
    return (await readdir(this.root)).filter((d) => !this.byId.has(d));
  }

  /** Full id, exact name (with or without "/"), or a unique id prefix. */
  find(idOrName: string): ContainerRecord | undefined {
    const key = idOrName.replace(/^\//, '');
    const exact = this.byId.get(key);
    if (exact) return exact;
    for (const r of this.byId.values()) if (r.name === key) return r;
    if (/^[0-9a-f]+$/.test(key) && key.length > 0) {
      const hits = [...this.byId.values()].filter((r) => r.id.startsWith(key));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw badRequest(`multiple IDs found with provided prefix: ${key}`);
    }
    return undefined;
  }

  get(idOrName: string): ContainerRecord {
    const r = this.find(idOrName);
    if (!r) throw notFound(`No such container: ${idOrName}`);
    return r;
  }

  reserveName(name: string): void {
    if (this.reserved.has(name) || [...this.byId.values()].some((r) => r.name === name)) {
      const owner = [...this.byId.values()].find((r) => r.name === name);
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${owner?.id ?? 'being created'}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.reserved.add(name);
  }

  releaseName(name: string): void {
    this.reserved.delete(name);
  }

  /**
   * Writes the record atomically (tmp + rename) and keeps it in memory. `durable` (the default) fsyncs
   * before the rename. Without it the write still survives a kill -9 of the daemon (it is in the page
   * cache) but not a host crash — fine for the run-time transitions (running, exited, removing, health):
   * after a host crash every container is dead anyway, and recovery records it so.
   */
  async save(r: ContainerRecord, o: { durable?: boolean } = {}): Promise<void> {
    this.byId.set(r.id, r);
    const dir = this.dir(r.id);
    const tmp = join(dir, `.state.json.${process.pid}.${Math.random().toString(36).slice(2)}`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(r));
      if (o.durable !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, 'state.json'));
  }

  async delete(id: string): Promise<void> {
    this.byId.delete(id);
    await rm(this.dir(id), { recursive: true, force: true });
  }

  forget(id: string): void {
    this.byId.delete(id);
  }
}

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
