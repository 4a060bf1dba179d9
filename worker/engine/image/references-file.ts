/**
 * `<root>/repositories.json`: which manifest each "name:tag" points at, and which images exist
 * (image id = config digest → manifest digest). Written whole, via tmp + fsync + rename.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest, type Digest } from './digest.js';
import { ImageError } from './errors.js';

export interface ReferencesState {
  /** normalized "name:tag" → manifest digest */
  refs: Map<string, Digest>;
  /** image id (config digest) → its manifest digest and when it was last tagged */
  images: Map<Digest, { manifest: Digest; lastTagTime: string; repoDigests: string[] }>;
}

export async function readReferences(root: string): Promise<ReferencesState> {
  const state: ReferencesState = { refs: new Map(), images: new Map() };
  let text: string;
  try {
    text = await readFile(join(root, 'repositories.json'), 'utf8');
  } catch {
    return state;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ImageError(500, `${join(root, 'repositories.json')} is corrupt`, { cause: e });
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as { refs?: unknown; images?: unknown };
  if (typeof o.refs === 'object' && o.refs !== null) {
    for (const [k, d] of Object.entries(o.refs)) if (isDigest(d)) state.refs.set(k, d);
  }
  if (typeof o.images === 'object' && o.images !== null) {
    for (const [id, rec] of Object.entries(o.images)) {
      const r = (typeof rec === 'object' && rec !== null ? rec : {}) as { manifest?: unknown; lastTagTime?: unknown; repoDigests?: unknown };
      if (!isDigest(id) || !isDigest(r.manifest)) continue;
      const repoDigests = Array.isArray(r.repoDigests) ? r.repoDigests.filter((x): x is string => typeof x === 'string') : [];
      state.images.set(id, { manifest: r.manifest, lastTagTime: typeof r.lastTagTime === 'string' ? r.lastTagTime : '', repoDigests });
    }
  }
  return state;
}

export async function writeReferences(root: string, state: ReferencesState, index: unknown): Promise<void> {
  const body = {
    refs: Object.fromEntries([...state.refs].sort(([a], [b]) => (a < b ? -1 : 1))),
    images: Object.fromEntries(state.images),
  };
  await atomicWrite(join(root, 'repositories.json'), JSON.stringify(body, null, 1));
  await atomicWrite(join(root, 'index.json'), JSON.stringify(index));
}

async function atomicWrite(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
