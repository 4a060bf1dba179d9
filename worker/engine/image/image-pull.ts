/**
 * `docker pull`: manifest (an index resolved to the wanted platform, linux/<this arch> by default),
 * config and layers from a registry into the store. Layers download concurrently (3 at a time, as
 * dockerd), each hashed on the way and refused on a digest mismatch; nothing reaches the store until
 * every blob is verified, and a failure leaves nothing behind. Progress is Docker's jsonmessage.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RegistryAuth } from './auth-config.js';
import type { Digest } from './digest.js';
import { goArch } from './image-import.js';
import { ImageError, badImageInput, messageOf } from './errors.js';
import type { ImageRecord } from './image-record.js';
import type { ImageStore } from './image-store.js';
import { MEDIA, parseIndex, parseManifest, type Descriptor, type OciManifest } from './oci-types.js';
import { normalizeRef, parseRef } from './reference.js';
import { RegistryClient, registryTarget } from './registry-client.js';
import { byteReporter, shortId, type Progress } from './registry-progress.js';

export type PullProgress = Progress;

export interface PullOptions {
  timeoutMs?: number;
  blobTimeoutMs?: number;
  auth?: RegistryAuth;
  /** `--insecure-registry` values (plain HTTP besides loopback) */
  insecureRegistries?: readonly string[];
  /** "os/arch[/variant]" (docker pull --platform); default linux/<this machine's arch> */
  platform?: string;
  /** layers downloaded at once (dockerd's max-concurrent-downloads, default 3) */
  concurrency?: number;
  /** wait before retry n of a broken download is n × this, default 1000 ms (dockerd: 5 s steps) */
  retryDelayMs?: number;
}

const LIST_TYPES = new Set<string>([MEDIA.index, 'application/vnd.docker.distribution.manifest.list.v2+json']);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function parsePlatform(s: string | undefined): Platform {
  if (s === undefined || s === '') return { os: 'linux', architecture: goArch() };
  const parts = s.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_]+$/.test(p))) throw badImageInput(`platform: "${s}" is not os/arch[/variant]`);
  const arch = parts[1] === 'x86_64' ? 'amd64' : parts[1] === 'aarch64' ? 'arm64' : parts[1]!;
  return parts[2] !== undefined ? { os: parts[0]!, architecture: arch, variant: parts[2] } : { os: parts[0]!, architecture: arch };
}

export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined).join('/');
}

/** The index entry for `want` (a variant is matched only when asked for), or undefined. */
export function pickPlatform(manifests: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const fits = (d: Descriptor): boolean => d.platform?.os === want.os && d.platform.architecture === want.architecture && (want.variant === undefined || d.platform.variant === want.variant);
  return manifests.find(fits);
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const t = items[next++]!;
      try {
        await fn(t);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

export async function pullImage(store: ImageStore, ref: string, onProgress: PullProgress = () => undefined, opts: PullOptions = {}): Promise<ImageRecord> {
  // "name:tag@sha256:…" (what swarm pins) is pulled by its digest, as dockerd does: the tag only names it
  const asked = parseRef(ref);
  const normalized = asked.digest !== undefined ? `${asked.name}@${asked.digest}` : normalizeRef(ref);
  const p = parseRef(normalized);
  const want = parsePlatform(opts.platform);
  const target = registryTarget(normalized, opts.insecureRegistries);
  const client = new RegistryClient(target, opts);
  let m = await client.manifest(target.reference);
  // after the manifest, as dockerd: a missing tag or refused credentials are an HTTP error, not a stream line
  onProgress({ status: `Pulling from ${target.repository}`, id: p.tag ?? p.digest ?? 'latest' });
  // Docker records (and prints) the digest of what the reference names: the index when there is one
  const topDigest = m.digest;
  if (LIST_TYPES.has(m.mediaType) || looksLikeIndex(m.bytes)) {
    const idx = parseIndex(m.bytes);
    const pick = pickPlatform(idx.manifests, want);
    if (pick === undefined) throw badImageInput(`no matching manifest for ${platformString(want)} in the manifest list entries of ${normalized}`);
    m = await client.manifest(pick.digest);
  }
  const manifest = parseManifest(m.bytes);
  const final = m;
  const tags = p.digest !== undefined && p.tag === undefined ? [] : [normalized];
  const existing = store.resolve(normalized);
  if (existing !== undefined && existing.manifestDigest === final.digest && existing.repoDigests.includes(`${p.name}@${topDigest}`)) {
    onProgress({ status: `Digest: ${topDigest}` });
    onProgress({ status: `Status: Image is up to date for ${normalized}` });
    return existing;
  }
  return storeImageFrom(store, { label: `${target.base}/${target.repository}`, blob: (d) => client.blob(d), blobFrom: (d, offset) => client.blobFrom(d, offset) }, { bytes: final.bytes, digest: final.digest, manifest }, { tags, repoDigests: [`${p.name}@${topDigest}`], printedDigest: topDigest, ref: normalized, onProgress, concurrency: opts.concurrency ?? 3, ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}) });
}

/** Where the blobs of an image come from: a registry repository, or a peer node's engine. */
export interface BlobSource {
  /** named in errors: "http://127.0.0.1:5000/shoal/bb", "peer node-2 (10.0.0.2:4789)" */
  readonly label: string;
  blob(digest: Digest): Promise<Readable>;
  /**
   * The blob from byte `offset` on (HTTP Range), for resuming a broken download; `start` is where the
   * stream really begins (0 when the server ignored the range).
   */
  blobFrom?(digest: Digest, offset: number): Promise<{ stream: Readable; start: number }>;
}

/** Download attempts per blob when the source can resume (dockerd retries 5 times). */
export const DOWNLOAD_ATTEMPTS = 5;


export interface StoreImageOptions {
  tags: string[];
  repoDigests: string[];
  /** the reference named in the final status line */
  ref: string;
  onProgress: PullProgress;
  /** the digest the "Digest:" line shows (an index's, when one was followed); default the manifest's */
  printedDigest?: string;
  concurrency: number;
  retryDelayMs?: number;
}

/**
 * One pass-through for a blob download: refuses more than `limit` bytes (a source may not send more
 * than the descriptor says), hashes (when `hash`), and reports the running count (from `start`).
 * One transform, not three: TLS delivers 16 kB chunks, and every stream hop costs per chunk.
 */
class BlobMeter extends Transform {
  readonly hash: Hash | undefined;
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly what: string,
    private readonly report: (n: number) => void,
    private readonly start: number,
  ) {
    super();
    this.hash = start === 0 ? createHash('sha256') : undefined;
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      cb(badImageInput(`${this.what} sent more than the ${this.limit + this.start} bytes its descriptor gives; nothing was stored`));
      return;
    }
    this.hash?.update(chunk);
    this.report(this.start + this.bytes);
    cb(null, chunk);
  }
}

/**
 * The verified half of a pull, shared by registry and peer pulls: downloads the config and the
 * missing layers of `m` from `source` (concurrently, outside the store lock, into tmp/), checks each
 * against its digest and size, then adopts them and the manifest under the lock and registers the
 * image (which checks every layer's DiffID while unpacking). Any failure leaves nothing behind.
 */
export async function storeImageFrom(store: ImageStore, source: BlobSource, m: { bytes: Buffer; digest: Digest; manifest: OciManifest }, o: StoreImageOptions): Promise<ImageRecord> {
  const { manifest } = m;
  const onProgress = o.onProgress;
  const fetched = new Map<Digest, string>();
  const layerSet = new Set<Digest>(manifest.layers.map((l) => l.digest));
  const blobs: Descriptor[] = [manifest.config, ...manifest.layers.filter((l, i) => manifest.layers.findIndex((x) => x.digest === l.digest) === i)];
  const fetchOne = async (d: Descriptor, dest: string): Promise<void> => {
    const isLayer = layerSet.has(d.digest);
    const report = isLayer ? byteReporter(onProgress, 'Downloading', shortId(d.digest), d.size) : () => undefined;
    const what = `${source.label} (blob ${d.digest})`;
    // A transfer that breaks off is resumed from the bytes already on disk (when the source can).
    // One unbroken transfer is hashed on the way; a resumed one is hashed from the file afterwards.
    let streamed: { digest: string; bytes: number } | undefined;
    for (let attempt = 1; ; attempt++) {
      let have = 0;
      try {
        have = attempt === 1 ? 0 : (await stat(dest)).size;
      } catch {
        have = 0;
      }
      try {
        let stream: Readable;
        let start = 0;
        if (have > 0 && have < d.size && source.blobFrom !== undefined) ({ stream, start } = await source.blobFrom(d.digest, have));
        else stream = await source.blob(d.digest);
        const meter = new BlobMeter(d.size - start, what, report, start);
        await pipeline(stream, meter, createWriteStream(dest, { flags: start > 0 ? 'a' : 'w', highWaterMark: 1024 * 1024 }));
        if (meter.hash !== undefined) streamed = { digest: `sha256:${meter.hash.digest('hex')}`, bytes: meter.bytes };
        break;
      } catch (e) {
        const retryable = !(e instanceof ImageError) || e.status === 500;
        if (!retryable || source.blobFrom === undefined || attempt >= DOWNLOAD_ATTEMPTS) {
          if (e instanceof ImageError) throw e;
          throw new ImageError(500, `downloading ${d.digest} from ${source.label} failed: ${messageOf(e)}`, { cause: e });
        }
        const wait = (o.retryDelayMs ?? 1000) * attempt;
        onProgress({ status: `Retrying in ${Math.ceil(wait / 1000)} second${Math.ceil(wait / 1000) === 1 ? '' : 's'}`, progressDetail: {}, id: shortId(d.digest) });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    let got: string;
    let bytes = 0;
    if (streamed !== undefined) {
      got = streamed.digest;
      bytes = streamed.bytes;
    } else {
      // the whole file, whatever pieces it came in
      const hash = createHash('sha256');
      for await (const c of createReadStream(dest)) {
        hash.update(c as Buffer);
        bytes += (c as Buffer).length;
      }
      got = `sha256:${hash.digest('hex')}`;
    }
    if (got !== d.digest) throw badImageInput(`blob digest mismatch: expected ${d.digest}, content is ${got} (from ${source.label}); nothing was stored`);
    if (bytes !== d.size) throw badImageInput(`blob ${d.digest} from ${source.label} is ${bytes} bytes, its descriptor says ${d.size}; nothing was stored`);
  };
  try {
    const todo: Descriptor[] = [];
    for (const d of blobs) {
      if (await store.blobs.has(d.digest)) {
        if (layerSet.has(d.digest)) onProgress({ status: 'Already exists', progressDetail: {}, id: shortId(d.digest) });
        continue;
      }
      if (layerSet.has(d.digest)) onProgress({ status: 'Pulling fs layer', progressDetail: {}, id: shortId(d.digest) });
      todo.push(d);
    }
    await mapLimit(todo, o.concurrency, async (d) => {
      const tmp = store.blobs.tmpPath('pull');
      fetched.set(d.digest, tmp);
      await fetchOne(d, tmp);
      if (layerSet.has(d.digest)) {
        onProgress({ status: 'Verifying Checksum', progressDetail: {}, id: shortId(d.digest) });
        onProgress({ status: 'Download complete', progressDetail: {}, id: shortId(d.digest) });
      }
    });
    const fresh = manifest.layers.filter((l) => fetched.has(l.digest));
    const rec = await store.exclusive(async () => {
      try {
        for (const d of blobs) {
          const f = fetched.get(d.digest);
          if (f !== undefined) await store.blobs.putFile(f, d.digest);
          else if (!(await store.blobs.has(d.digest))) {
            // removed meanwhile (an rmi between the check and the lock): fetch it again, verified
            const again = store.blobs.tmpPath('pull');
            fetched.set(d.digest, again);
            await fetchOne(d, again);
            await store.blobs.putFile(again, d.digest);
          }
        }
        await store.blobs.putBuffer(m.bytes, m.digest);
        // the store unpacks the new layers while adding the image
        for (const l of fresh) onProgress({ status: 'Extracting', progressDetail: { current: l.size, total: l.size }, id: shortId(l.digest) });
        return await store.addImageLocked(m.digest, o.tags, o.repoDigests);
      } catch (e) {
        await store.gcLocked();
        throw e;
      }
    });
    for (const l of fresh) onProgress({ status: 'Pull complete', progressDetail: {}, id: shortId(l.digest) });
    onProgress({ status: `Digest: ${o.printedDigest ?? m.digest}` });
    onProgress({ status: `Status: Downloaded newer image for ${o.ref}` });
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
