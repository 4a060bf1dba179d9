/**
 * Named local volumes: `<root>/<name>/_data` plus `<root>/<name>/volume.json` (labels, options, created).
 * Removal is refused while a container uses the volume, even with force (as Docker does).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type VolumeErrorStatus = 400 | 404 | 409 | 500;

export class VolumeError extends Error {
  readonly status: VolumeErrorStatus;
  constructor(status: VolumeErrorStatus, message: string) {
    super(message);
    this.name = 'VolumeError';
    this.status = status;
  }
}

/** Docker's volume object (GET /volumes/{name}). */
export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local';
  Status?: Record<string, string>;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeFilters {
  dangling?: string[];
  name?: string[];
  label?: string[];
  driver?: string[];
}

// Docker requires two characters or more; one is accepted here too (the issue's `docker volume create v`)
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

interface Meta {
  createdAt: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
}

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

function parseMeta(text: string): Meta {
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null) throw new Error('volume metadata is not an object');
  const o = v as Record<string, unknown>;
  return {
    createdAt: typeof o.createdAt === 'string' ? o.createdAt : new Date(0).toISOString(),
    labels: isStringMap(o.labels) ? o.labels : {},
    options: isStringMap(o.options) ? o.options : {},
    anonymous: o.anonymous === true,
  };
}

export class VolumeStore {
  private readonly metas = new Map<string, Meta>();
  private usage: (name: string) => string[] = () => [];

  private constructor(readonly root: string) {}

  static async open(root: string): Promise<VolumeStore> {
    await mkdir(root, { recursive: true });
    const s = new VolumeStore(root);
    for (const name of await readdir(root)) {
      if (name.startsWith('.')) continue;
      try {
        s.metas.set(name, parseMeta(await readFile(join(root, name, 'volume.json'), 'utf8')));
      } catch {
        // a dir without metadata (half-created): adopt it if it has data
        try {
          await readdir(join(root, name, '_data'));
          s.metas.set(name, { createdAt: new Date().toISOString(), labels: {}, options: {}, anonymous: false });
        } catch {
          await rm(join(root, name), { recursive: true, force: true });
        }
      }
    }
    return s;
  }

  /** The container manager tells the store who uses a volume (container ids). */
  setUsageProvider(fn: (name: string) => string[]): void {
    this.usage = fn;
  }

  usedBy(name: string): string[] {
    return this.usage(name);
  }

  private record(name: string, m: Meta): VolumeRecord {
    return {
      Name: name,
      Driver: 'local',
      Mountpoint: join(this.root, name, '_data'),
      CreatedAt: m.createdAt,
      Labels: { ...m.labels },
      Options: { ...m.options },
      Scope: 'local',
    };
  }

  /** Creates a volume; an existing one of that name is returned as it is (idempotent). */
  async create(body: VolumeCreateBody = {}, opts: { anonymous?: boolean } = {}): Promise<VolumeRecord> {
    const name = body.Name && body.Name !== '' ? body.Name : randomBytes(32).toString('hex');
    if (!NAME_RE.test(name)) throw new VolumeError(400, `invalid volume name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (body.Driver && body.Driver !== 'local') throw new VolumeError(400, `volume driver "${body.Driver}" is not supported (only "local")`);
    const existing = this.metas.get(name);
    if (existing) return this.record(name, existing);
    const meta: Meta = {
      createdAt: new Date().toISOString(),
      labels: isStringMap(body.Labels) ? body.Labels : {},
      options: isStringMap(body.DriverOpts) ? body.DriverOpts : {},
      anonymous: opts.anonymous === true,
    };
    const dir = join(this.root, name);
    await mkdir(join(dir, '_data'), { recursive: true, mode: 0o755 });
    const tmp = join(dir, `.volume.json.${process.pid}`);
    await writeFile(tmp, JSON.stringify(meta));
    await rename(tmp, join(dir, 'volume.json'));
    this.metas.set(name, meta);
    return this.record(name, meta);
  }

  get(name: string): VolumeRecord | undefined {
    const m = this.metas.get(name);
    return m ? this.record(name, m) : undefined;
  }

  inspect(name: string): VolumeRecord {
    const v = this.get(name);
    if (!v) throw new VolumeError(404, `no such volume: ${name}`);
    return v;
  }

  isAnonymous(name: string): boolean {
    return this.metas.get(name)?.anonymous === true;
  }

  list(filters: VolumeFilters = {}): VolumeRecord[] {
    const out: VolumeRecord[] = [];
    for (const [name, m] of this.metas) {
      if (filters.name?.length && !filters.name.some((n) => name.includes(n))) continue;
      if (filters.driver?.length && !filters.driver.includes('local')) continue;
      if (filters.dangling?.length) {
        const want = filters.dangling[0] === 'true' || filters.dangling[0] === '1';
        if ((this.usage(name).length === 0) !== want) continue;
      }
      if (filters.label?.length && !filters.label.every((l) => labelMatches(m.labels, l))) continue;
      out.push(this.record(name, m));
    }
    return out.sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** Removes a volume and its data; refused (409) while a container uses it, force or not. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (!this.metas.has(name)) {
      if (opts.force) return;
      throw new VolumeError(404, `no such volume: ${name}`);
    }
    const users = this.usage(name);
    if (users.length > 0) {
      throw new VolumeError(409, `remove ${name}: volume is in use - [${users.join(', ')}]`);
    }
    this.metas.delete(name);
    await rm(join(this.root, name), { recursive: true, force: true });
  }

  /** Removes unused volumes (Docker ≥ 23: anonymous only, unless all); returns names and bytes reclaimed (0: not measured). */
  async prune(opts: { all?: boolean; label?: string[] } = {}): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    for (const [name, m] of [...this.metas]) {
      if (this.usage(name).length > 0) continue;
      if (!opts.all && !m.anonymous) continue;
      if (opts.label?.length && !opts.label.every((l) => labelMatches(m.labels, l))) continue;
      await this.remove(name);
      deleted.push(name);
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: 0 };
  }
}

/** `key` or `key=value` against a label map. */
export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf('=');
  if (i < 0) return filter in labels;
  return labels[filter.slice(0, i)] === filter.slice(i + 1);
}
