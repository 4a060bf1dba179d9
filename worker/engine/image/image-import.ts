/** `docker import`: a rootfs tarball (plain or gzip) becomes a one-layer image. */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { HashingStream, type Digest } from './digest.js';
import { putLayerBlob } from './layer-blob.js';
import { badImageInput, messageOf, ImageError } from './errors.js';
import { applyChanges } from './image-changes.js';
import type { ImageRecord } from './image-record.js';
import type { ImageStore } from './image-store.js';
import { openLayerTar } from './layer-unpack.js';
import { MEDIA, canonicalJson, type OciImageConfig, type OciManifest } from './oci-types.js';
import { normalizeRef } from './reference.js';

export interface ImportOptions {
  ref?: string;
  changes?: string[];
  message?: string;
}

/** Go's GOARCH name for this machine (what image configs carry). */
export function goArch(arch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

/** sha256 of the uncompressed tar; a broken gzip stream is a 400. */
async function diffIdOf(file: string): Promise<Digest> {
  const h = new HashingStream();
  try {
    await pipeline(await openLayerTar(file), h, new Writable({ write: (_c, _e, cb) => cb() }));
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw badImageInput(`the rootfs tarball cannot be read: ${messageOf(e)}`, e);
  }
  return h.digest();
}

export async function importRootfs(store: ImageStore, input: NodeJS.ReadableStream | Readable, opts: ImportOptions): Promise<ImageRecord> {
  // Check everything that can be checked before touching the store.
  const ref = opts.ref === undefined || opts.ref === '' ? undefined : normalizeRef(opts.ref);
  const containerConfig = applyChanges({}, opts.changes ?? []);
  const raw = store.blobs.tmpPath('import');
  try {
    try {
      await pipeline(input, createWriteStream(raw));
    } catch (e) {
      throw badImageInput(`reading the rootfs tarball failed: ${messageOf(e)}`, e);
    }
    if ((await stat(raw)).size === 0) throw badImageInput('the rootfs tarball is empty');
    const diffId = await diffIdOf(raw);
    const created = new Date().toISOString();
    const config: OciImageConfig = {
      architecture: goArch(),
      os: 'linux',
      created,
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: 'shoal import', comment: opts.message ?? 'Imported from -' }],
    };
    // Blobs are written under the lock, so no concurrent garbage collection sees them unreferenced.
    return await store.exclusive(async () => {
      try {
        const layer = await putLayerBlob(store.blobs, raw);
        const cfg = await store.blobs.putBuffer(canonicalJson(config));
        const manifest: OciManifest = {
          schemaVersion: 2,
          mediaType: MEDIA.manifest,
          config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size },
          layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
        };
        const m = await store.blobs.putBuffer(canonicalJson(manifest));
        return await store.addImageLocked(m.digest, ref === undefined ? [] : [ref]);
      } catch (e) {
        await store.gcLocked();
        throw e;
      }
    });
  } finally {
    await rm(raw, { force: true });
  }
}
