/**
 * `docker push`: the blobs of an image's manifest (config and layers) to a registry, then the manifest
 * under the tag. Per layer: HEAD (already there → "Layer already exists"), a cross-repo mount when the
 * image came from another repository of the same registry ("Mounted from …"), else an upload session
 * (POST → PATCH the bytes → PUT ?digest=, the registry checks the digest). Layers go up 5 at a time
 * (dockerd's max-concurrent-uploads). Progress and the final aux {Tag, Digest, Size} are Docker's.
 */
import type { RegistryAuth } from './auth-config.js';
import { sha256Of, type Digest } from './digest.js';
import { ImageError, imageNotFound } from './errors.js';
import type { ImageStore } from './image-store.js';
import { MEDIA, type Descriptor } from './oci-types.js';
import { parseRef, splitTagged } from './reference.js';
import { RegistryClient, TransientRegistryError, registryTarget } from './registry-client.js';
import { byteReporter, shortId, type Progress } from './registry-progress.js';
import { Transform, type TransformCallback } from 'node:stream';

export interface PushOptions {
  timeoutMs?: number;
  blobTimeoutMs?: number;
  auth?: RegistryAuth;
  /** `--insecure-registry` values (plain HTTP besides loopback) */
  insecureRegistries?: readonly string[];
  concurrency?: number;
  /** wait before retry n of a broken upload is n × this, default 1000 ms */
  retryDelayMs?: number;
}

/** dockerd's max-upload-attempts */
export const UPLOAD_ATTEMPTS = 5;

export interface PushResult {
  tag: string;
  digest: Digest;
  size: number;
}

function counting(onBytes: (n: number) => void): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _e, cb: TransformCallback) {
      n += chunk.length;
      onBytes(n);
      cb(null, chunk);
    },
  });
}

/** The repositories on the same registry this image's blobs are known to be in (from its repo digests). */
function mountSources(repoDigests: readonly string[], registryHost: string, repository: string): string[] {
  const out: string[] = [];
  for (const rd of repoDigests) {
    const name = rd.split('@')[0]!;
    const t = registryTarget(`${name}:x`); // only the host and path are compared
    if (new URL(t.base).host === registryHost && t.repository !== repository) out.push(t.repository);
  }
  return [...new Set(out)];
}

/** Pushes `name:tag` (tag given) or every tag of `name` in the store. */
export async function pushImage(store: ImageStore, name: string, tag: string | undefined, onProgress: Progress = () => undefined, opts: PushOptions = {}): Promise<PushResult[]> {
  const repo = parseRef(name).name;
  const refs = tag !== undefined && tag !== '' ? [`${repo}:${tag}`] : store.list().flatMap((i) => i.repoTags).filter((t) => splitTagged(t).name === repo).sort();
  if (refs.length === 0) throw imageNotFound(`An image does not exist locally with the tag: ${repo}`);
  for (const r of refs) if (store.resolve(r) === undefined) throw imageNotFound(`An image does not exist locally with the tag: ${r}`);
  const target = registryTarget(`${repo}:latest`, opts.insecureRegistries);
  onProgress({ status: `The push refers to repository [${repo}]` });
  const client = new RegistryClient(target, opts);
  const out: PushResult[] = [];
  for (const ref of refs) out.push(await pushOne(store, client, ref, onProgress, opts));
  return out;
}

async function pushOne(store: ImageStore, client: RegistryClient, ref: string, onProgress: Progress, opts: PushOptions): Promise<PushResult> {
  const rec = store.get(ref);
  const { manifest, config, manifestDigest } = store.documents(rec.id);
  const manifestBytes = await store.blobs.read(manifestDigest);
  const diffIds = config.rootfs.diff_ids;
  const host = new URL(client.target.base).host;
  const sources = mountSources(rec.repoDigests, host, client.target.repository);
  const progressId = (i: number, d: Descriptor): string => shortId(diffIds[i] ?? d.digest);
  const layers = manifest.layers;
  // reverse order, as dockerd lists them (top layer first)
  for (let i = layers.length - 1; i >= 0; i--) onProgress({ status: 'Preparing', progressDetail: {}, id: progressId(i, layers[i]!) });
  // Bearer registries: get a push token before the first request whose body cannot be replayed.
  await client.ensureAuth(`blobs/${manifest.config.digest}`, `repository:${client.target.repository}:pull,push`);
  const pushBlob = async (d: Descriptor, id: string | undefined): Promise<void> => {
    if (await client.hasBlob(d.digest)) {
      if (id !== undefined) onProgress({ status: 'Layer already exists', progressDetail: {}, id });
      return;
    }
    for (const from of sources) {
      const r = await client.startUpload({ digest: d.digest, from });
      if (r.mounted) {
        if (id !== undefined) onProgress({ status: `Mounted from ${from}`, progressDetail: {}, id });
        return;
      }
      await upload(r.location, d, id);
      return;
    }
    const r = await client.startUpload();
    if (r.mounted) return;
    await upload(r.location, d, id);
  };
  // A broken transfer is sent again in a new upload session, up to 5 attempts (dockerd's max-upload-attempts).
  const upload = async (location: string, d: Descriptor, id: string | undefined): Promise<void> => {
    const size = await store.blobs.size(d.digest);
    const report = id !== undefined ? byteReporter(onProgress, 'Pushing', id, size) : () => undefined;
    let loc = location;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.uploadBlob(loc, d.digest, size, store.blobs.stream(d.digest).pipe(counting(report)));
        break;
      } catch (e) {
        if (!(e instanceof TransientRegistryError) || attempt >= UPLOAD_ATTEMPTS) {
          if (e instanceof TransientRegistryError) throw new ImageError(500, `uploading ${d.digest} to ${client.target.base}/${client.target.repository} failed after ${attempt} attempts: ${e.message}`, { cause: e });
          throw e;
        }
        const wait = (opts.retryDelayMs ?? 1000) * attempt;
        if (id !== undefined) onProgress({ status: `Retrying in ${Math.ceil(wait / 1000)} second${Math.ceil(wait / 1000) === 1 ? '' : 's'}`, progressDetail: {}, id });
        await new Promise((r) => setTimeout(r, wait));
        const again = await client.startUpload();
        if (again.mounted) break;
        loc = again.location;
      }
    }
    if (id !== undefined) onProgress({ status: 'Pushed', progressDetail: {}, id });
  };
  let next = layers.length - 1;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next >= 0) {
      const i = next--;
      try {
        await pushBlob(layers[i]!, progressId(i, layers[i]!));
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 5, layers.length)) }, worker));
  if (failed !== undefined) throw failed;
  await pushBlob(manifest.config, undefined);
  const tag = splitTagged(ref).tag;
  const mediaType = manifest.mediaType ?? MEDIA.manifest;
  const digest = await client.putManifest(tag, manifestBytes, mediaType);
  if (digest !== sha256Of(manifestBytes)) throw new Error('unreachable: manifest digest changed');
  onProgress({ status: `${tag}: digest: ${digest} size: ${manifestBytes.length}` });
  onProgress({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifestBytes.length } });
  await store.exclusive(() => store.addImageLocked(manifestDigest, [], [`${splitTagged(ref).name}@${digest}`]));
  return { tag, digest, size: manifestBytes.length };
}
