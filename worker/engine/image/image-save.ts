/**
 * `docker save`: images as a tar stream, either as an OCI image layout (oci-layout, index.json with
 * ref-name annotations, blobs/sha256/…, byte-identical blobs) or, for the docker format, that same
 * layout which is also a docker-archive (manifest.json, repositories), as Docker Engine 25+ writes it.
 */
import { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import { hexOf, type Digest } from './digest.js';
import { badImageInput, imageNotFound } from './errors.js';
import type { ImageStore } from './image-store.js';
import { ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, MEDIA } from './oci-types.js';
import { fullyQualified, normalizeRef, parseRef, splitTagged } from './reference.js';

export type SaveFormat = 'docker' | 'oci';

interface Wanted {
  id: Digest;
  /** The tag the caller named, if it was a tag. */
  tag?: string;
}

const FIXED_MTIME = new Date(0);

function entry(p: Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    p.entry({ name, size: data.length, mode: 0o644, mtime: FIXED_MTIME }, data, (err) => (err ? reject(err) : resolve()));
  });
}

async function streamEntry(p: Pack, name: string, size: number, src: Readable): Promise<void> {
  let done!: Promise<void>;
  let sink!: ReturnType<Pack['entry']>;
  done = new Promise<void>((resolve, reject) => {
    sink = p.entry({ name, size, mode: 0o644, mtime: FIXED_MTIME }, (err) => (err ? reject(err) : resolve()));
  });
  try {
    for await (const chunk of src) {
      if (!sink.write(chunk as Buffer)) await new Promise<void>((res) => sink.once('drain', () => res()));
    }
  } catch (e) {
    sink.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
  (sink as unknown as { end(): void }).end();
  await done;
}

function wanted(store: ImageStore, refs: string[]): Wanted[] {
  if (refs.length === 0) throw badImageInput('save needs at least one image');
  return refs.map((r) => {
    const rec = store.resolve(r);
    if (rec === undefined) throw imageNotFound(`No such image: ${r}`);
    let tag: string | undefined;
    try {
      const n = normalizeRef(r);
      if (parseRef(n).digest === undefined && rec.repoTags.includes(n)) tag = n;
    } catch {
      tag = undefined;
    }
    return tag === undefined ? { id: rec.id as Digest } : { id: rec.id as Digest, tag };
  });
}

/** Checks the refs now (so a bad name fails before any byte is sent) and streams the archive. */
export function saveImages(store: ImageStore, refs: string[], format: SaveFormat): Readable {
  if (format !== 'docker' && format !== 'oci') throw badImageInput(`unknown save format ${String(format)}`);
  const list = wanted(store, refs);
  const p = pack();
  const out = Readable.from(p as AsyncIterable<Buffer>, { objectMode: false });
  const write = format === 'docker' ? writeDocker : writeOci;
  write(store, list, p).then(
    () => p.finalize(),
    (e: unknown) => p.destroy(e instanceof Error ? e : new Error(String(e))),
  );
  return out;
}

/**
 * Docker's own `docker save` since Engine 25 (API 1.44): an OCI image layout that is a docker-archive
 * too — oci-layout, index.json and blobs/sha256/… plus manifest.json (Config and Layers pointing into
 * blobs/) and repositories. The layer blobs are the stored ones, byte for byte (docker load and skopeo
 * decompress them), so the archive keeps the manifest digest as well as the image ID, and skopeo
 * (`oci:`) and umoci read it as it is.
 */
async function writeDocker(store: ImageStore, list: Wanted[], p: Pack): Promise<void> {
  await writeOci(store, list, p);
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const byId = new Map<Digest, string[]>();
  for (const w of list) {
    const tags = byId.get(w.id) ?? [];
    if (w.tag !== undefined && !tags.includes(w.tag)) tags.push(w.tag);
    byId.set(w.id, tags);
  }
  for (const [id, tags] of byId) {
    const docs = store.documents(id);
    const layerNames = docs.manifest.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`);
    manifest.push({ Config: `blobs/sha256/${hexOf(id)}`, RepoTags: tags.length > 0 ? tags : null, Layers: layerNames });
    const top = docs.manifest.layers[docs.manifest.layers.length - 1];
    for (const t of tags) {
      const { name, tag } = splitTagged(t);
      if (top !== undefined) (repositories[name] ??= {})[tag] = hexOf(top.digest);
    }
  }
  await entry(p, 'manifest.json', Buffer.from(JSON.stringify(manifest)));
  await entry(p, 'repositories', Buffer.from(JSON.stringify(repositories)));
}

async function writeOci(store: ImageStore, list: Wanted[], p: Pack): Promise<void> {
  await entry(p, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const written = new Set<Digest>();
  const blob = async (d: Digest): Promise<void> => {
    if (written.has(d)) return;
    written.add(d);
    await streamEntry(p, `blobs/sha256/${hexOf(d)}`, await store.blobs.size(d), store.blobs.stream(d));
  };
  const manifests = [];
  const seen = new Set<string>();
  for (const w of list) {
    const key = `${w.id} ${w.tag ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const docs = store.documents(w.id);
    for (const l of docs.manifest.layers) await blob(l.digest);
    await blob(w.id);
    await blob(docs.manifestDigest);
    const d = { mediaType: docs.manifest.mediaType ?? MEDIA.manifest, digest: docs.manifestDigest, size: await store.blobs.size(docs.manifestDigest) };
    manifests.push(w.tag === undefined ? d : { ...d, annotations: { [ANNOTATION_CONTAINERD_NAME]: fullyQualified(w.tag), [ANNOTATION_REF_NAME]: splitTagged(w.tag).tag } });
  }
  await entry(p, 'index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests })));
}
