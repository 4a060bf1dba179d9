/** `docker pull`: manifest (resolved from an index for this platform), config and layers from a registry into the store. */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Digest } from './digest.js';
import { goArch } from './image-import.js';
import { ImageError, badImageInput, messageOf } from './errors.js';
import type { ImageRecord } from './image-record.js';
import type { ImageStore } from './image-store.js';
import { MEDIA, parseIndex, parseManifest } from './oci-types.js';
import { normalizeRef, parseRef } from './reference.js';
import { RegistryClient, registryTarget } from './registry-client.js';

export type PullProgress = (message: Record<string, unknown>) => void;

export interface PullOptions {
  timeoutMs?: number;
  blobTimeoutMs?: number;
}

const LIST_TYPES = new Set<string>([MEDIA.index, 'application/vnd.docker.distribution.manifest.list.v2+json']);

export async function pullImage(store: ImageStore, ref: string, onProgress: PullProgress = () => undefined, opts: PullOptions = {}): Promise<ImageRecord> {
  const normalized = normalizeRef(ref);
  const p = parseRef(normalized);
  const target = registryTarget(normalized);
  const client = new RegistryClient(target, opts);
  onProgress({ status: `Pulling from ${target.repository}`, id: p.tag ?? p.digest ?? 'latest' });
  let m = await client.manifest(target.reference);
  if (LIST_TYPES.has(m.mediaType) || looksLikeIndex(m.bytes)) {
    const idx = parseIndex(m.bytes);
    const want = goArch();
    const pick = idx.manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === want) ?? idx.manifests.find((d) => d.platform === undefined);
    if (pick === undefined) throw imageNoPlatform(normalized, want);
    m = await client.manifest(pick.digest);
  }
  const manifest = parseManifest(m.bytes);
  const final = m;
  // Download outside the store lock (into tmp/, which garbage collection never touches); adopt under it.
  const fetched = new Map<Digest, string>();
  const wanted: Digest[] = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  try {
    for (const d of wanted) {
      const short = d.slice(7, 19);
      const isLayer = d !== manifest.config.digest;
      if (fetched.has(d) || (await store.blobs.has(d))) {
        if (isLayer) onProgress({ status: 'Already exists', id: short });
        continue;
      }
      if (isLayer) onProgress({ status: 'Pulling fs layer', id: short });
      const tmp = store.blobs.tmpPath('pull');
      fetched.set(d, tmp);
      try {
        await pipeline(await client.blob(d), createWriteStream(tmp));
      } catch (e) {
        if (e instanceof ImageError) throw e;
        throw new ImageError(500, `downloading ${d} from ${target.base} failed: ${messageOf(e)}`, { cause: e });
      }
      if (isLayer) onProgress({ status: 'Download complete', id: short });
    }
    const rec = await store.exclusive(async () => {
      try {
        for (const d of wanted) {
          const f = fetched.get(d);
          if (f !== undefined) await store.blobs.putFile(f, d);
          else if (!(await store.blobs.has(d))) await store.blobs.putStream(await client.blob(d), d); // removed meanwhile
        }
        await store.blobs.putBuffer(final.bytes, final.digest);
        const tags = p.digest !== undefined && p.tag === undefined ? [] : [normalized];
        return await store.addImageLocked(final.digest, tags, [`${p.name}@${final.digest}`]);
      } catch (e) {
        await store.gcLocked();
        throw e;
      }
    });
    onProgress({ status: `Digest: ${final.digest}` });
    onProgress({ status: `Status: Downloaded newer image for ${normalized}` });
    return rec;
  } finally {
    for (const f of fetched.values()) await rm(f, { force: true });
  }
}

/** Registries that send no content type: an index has `manifests` and no `layers`. */
function looksLikeIndex(b: Buffer): boolean {
  try {
    const v = JSON.parse(b.toString('utf8')) as { manifests?: unknown; layers?: unknown } | null;
    return v !== null && Array.isArray(v.manifests) && !Array.isArray(v.layers);
  } catch {
    return false;
  }
}

function imageNoPlatform(ref: string, arch: string): ImageError {
  return badImageInput(`no matching manifest for linux/${arch} in the manifest list entries of ${ref}`);
}
