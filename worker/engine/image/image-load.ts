/**
 * `docker load`: a tar stream holding either an OCI image layout (oci-layout + index.json) or a
 * docker-archive (manifest.json). The archive is unpacked into a temp dir first, every blob is
 * checked against its digest on the way into the store, every layer against its DiffID.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { createGunzip } from 'node:zlib';
import { hexOf, type Digest } from './digest.js';
import { ImageError, badImageInput, messageOf } from './errors.js';
import type { ImageStore } from './image-store.js';
import { safeParts } from './layer-unpack.js';
import { putLayerBlob } from './layer-blob.js';
import { ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, MEDIA, canonicalJson, parseImageConfig, parseIndex, parseManifest, type Descriptor, type OciManifest } from './oci-types.js';
import { normalizeRef } from './reference.js';

/** Archive member name → file on disk (symlinked members resolved). */
type Files = Map<string, string>;

async function extractArchive(input: NodeJS.ReadableStream | Readable, dir: string): Promise<Files> {
  const files: Files = new Map();
  const links: [string, string][] = [];
  const ex = extract();
  const feed = pipeline(input, ex as unknown as NodeJS.WritableStream);
  feed.catch(() => undefined);
  try {
    for await (const e of ex) {
      const parts = safeParts(e.header.name);
      const name = parts.join('/');
      if (e.header.type === 'file' || e.header.type === 'contiguous-file') {
        const target = join(dir, ...parts);
        await mkdir(join(dir, ...parts.slice(0, -1)), { recursive: true });
        await pipeline(e as AsyncIterable<Buffer>, createWriteStream(target));
        files.set(name, target);
      } else {
        if (e.header.type === 'symlink' || e.header.type === 'link') {
          const base = e.header.type === 'symlink' ? posix.dirname(name) : '';
          const to = safeParts(posix.join(base, e.header.linkname ?? '')).join('/');
          links.push([name, to]);
        }
        for await (const _ of e as AsyncIterable<Buffer>) {
          /* skip */
        }
      }
    }
    await feed;
  } catch (err) {
    await feed.catch(() => undefined);
    if (err instanceof ImageError) throw err;
    throw badImageInput(`the archive cannot be read: ${messageOf(err)}`, err);
  }
  for (const [name, to] of links) {
    const f = files.get(to);
    if (f !== undefined) files.set(name, f);
  }
  return files;
}

async function walk(dir: string, base = dir, out: Files = new Map()): Promise<Files> {
  for (const n of await readdir(dir)) {
    const p = join(dir, n);
    const st = await lstat(p);
    if (st.isDirectory()) await walk(p, base, out);
    else if (st.isFile()) out.set(relative(base, p).split('\\').join('/'), p);
  }
  return out;
}

function need(files: Files, name: string): string {
  const f = files.get(name);
  if (f === undefined) throw badImageInput(`the archive has no ${name}`);
  return f;
}

async function putFrom(store: ImageStore, files: Files, name: string, expected?: Digest): Promise<{ digest: Digest; size: number }> {
  return store.blobs.putStream(createReadStream(need(files, name)), expected);
}

/** OCI layout: every manifest the index names (one level of nested index is followed for this platform). */
async function loadOci(store: ImageStore, files: Files, opts: { ref?: string }): Promise<string[]> {
  const index = parseIndex(await readFile(need(files, 'index.json')));
  const loaded: string[] = [];
  const blobName = (d: Digest): string => `blobs/sha256/${hexOf(d)}`;
  const manifests: Descriptor[] = [];
  for (const d of index.manifests) {
    if (d.mediaType === MEDIA.index || d.mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json') {
      const nested = parseIndex(await readFile(need(files, blobName(d.digest))));
      const pick = nested.manifests.find((m) => m.platform === undefined || (m.platform.os === 'linux' && m.platform.architecture === 'amd64'));
      if (pick !== undefined) manifests.push({ ...pick, annotations: { ...(pick.annotations ?? {}), ...(d.annotations ?? {}) } });
    } else manifests.push(d);
  }
  if (manifests.length === 0) throw badImageInput('the OCI layout names no image manifest');
  for (const d of manifests) {
    const mBytes = await readFile(need(files, blobName(d.digest)));
    const manifest = parseManifest(mBytes);
    const ann = d.annotations ?? {};
    let ref: string | undefined = ann[ANNOTATION_CONTAINERD_NAME];
    const refName = ann[ANNOTATION_REF_NAME];
    if (ref === undefined && refName !== undefined) ref = /[:/]/.test(refName) ? refName : opts.ref === undefined ? undefined : `${normalizeRef(opts.ref).replace(/:[^:/]*$/, '')}:${refName}`;
    if (ref === undefined && opts.ref !== undefined) ref = opts.ref;
    const refs = ref === undefined ? [] : [normalizeRef(ref)];
    const rec = await locked(store, async () => {
      await putFrom(store, files, blobName(manifest.config.digest), manifest.config.digest);
      for (const l of manifest.layers) await putFrom(store, files, blobName(l.digest), l.digest);
      await store.blobs.putBuffer(mBytes, d.digest);
      return store.addImageLocked(d.digest, refs);
    });
    loaded.push(...(refs.length > 0 ? refs : [rec.id]));
  }
  return loaded;
}

/** Runs fn under the store lock; whatever it stored is collected again if it fails. */
function locked<T>(store: ImageStore, fn: () => Promise<T>): Promise<T> {
  return store.exclusive(async () => {
    try {
      return await fn();
    } catch (e) {
      await store.gcLocked();
      throw e;
    }
  });
}

/** docker-archive: manifest.json entries; a manifest is made for each image from its config and layer tars. */
async function loadDocker(store: ImageStore, files: Files): Promise<string[]> {
  let entries: unknown;
  try {
    entries = JSON.parse(await readFile(need(files, 'manifest.json'), 'utf8'));
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw badImageInput('manifest.json is not valid JSON', e);
  }
  if (!Array.isArray(entries) || entries.length === 0) throw badImageInput('manifest.json must be a non-empty array');
  const loaded: string[] = [];
  for (const [i, raw] of entries.entries()) {
    const e = raw as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw badImageInput(`manifest.json[${i}] needs Config and Layers`);
    }
    const configName = safeParts(e.Config).join('/');
    const configBytes = await readFile(need(files, configName));
    const config = parseImageConfig(configBytes);
    if (config.rootfs.diff_ids.length !== e.Layers.length) throw badImageInput(`manifest.json[${i}]: ${e.Layers.length} layers for ${config.rootfs.diff_ids.length} diff_ids`);
    const tags = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string').map(normalizeRef) : [];
    const layerFiles = (e.Layers as string[]).map((l) => need(files, safeParts(l).join('/')));
    const rec = await locked(store, async () => {
      const cfg = await store.blobs.putBuffer(configBytes);
      const layers: Descriptor[] = [];
      for (const f of layerFiles) {
        const b = await putLayerBlob(store.blobs, f);
        layers.push({ mediaType: b.mediaType, digest: b.digest, size: b.size });
      }
      const manifest: OciManifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size }, layers };
      const m = await store.blobs.putBuffer(canonicalJson(manifest));
      return store.addImageLocked(m.digest, tags);
    });
    loaded.push(...(tags.length > 0 ? tags : [rec.id]));
  }
  return loaded;
}

async function loadFiles(store: ImageStore, files: Files, opts: { ref?: string }): Promise<{ loaded: string[] }> {
  if (files.has('index.json') && files.has('oci-layout')) return { loaded: await loadOci(store, files, opts) };
  if (files.has('manifest.json')) return { loaded: await loadDocker(store, files) };
  throw badImageInput('the archive is neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)');
}

export async function loadArchive(store: ImageStore, input: NodeJS.ReadableStream | Readable): Promise<{ loaded: string[] }> {
  const dir = store.blobs.tmpPath('load');
  await mkdir(dir, { recursive: true });
  try {
    // Accept a gzip-compressed archive too (docker load does).
    const head = await peekGzip(input);
    const files = await extractArchive(head.gzip ? head.stream.pipe(createGunzip()) : head.stream, dir);
    return await loadFiles(store, files, {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function loadLayoutDir(store: ImageStore, dir: string, opts: { ref?: string }): Promise<{ loaded: string[] }> {
  return loadFiles(store, await walk(dir), opts);
}

/** Reads the first bytes to tell gzip from tar, then hands back a stream that still starts at byte 0. */
async function peekGzip(input: NodeJS.ReadableStream | Readable): Promise<{ gzip: boolean; stream: Readable }> {
  const out = new PassThrough();
  const it = (input as Readable)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) {
    out.end();
    return { gzip: false, stream: out };
  }
  const chunk = Buffer.isBuffer(first.value) ? first.value : Buffer.from(first.value as string);
  const gzip = chunk.length >= 2 && chunk[0] === 0x1f && chunk[1] === 0x8b;
  out.write(chunk);
  void (async () => {
    try {
      for (let r = await it.next(); r.done !== true; r = await it.next()) {
        if (!out.write(r.value)) await new Promise((res) => out.once('drain', res));
      }
      out.end();
    } catch (e) {
      out.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  })();
  return { gzip, stream: out };
}
