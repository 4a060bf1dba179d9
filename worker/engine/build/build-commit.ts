/**
 * The end of a build: the final state becomes an image of the engine's store — its layer blobs
 * (copied from the builder's store or already there), its config and a manifest — tagged with every
 * `-t`. All under the store's lock and all or nothing: a failure leaves no image and no blob behind.
 */
import { createReadStream } from 'node:fs';
import type { Digest } from '../image/digest.js';
import type { ImageRecord } from '../image/image-record.js';
import type { ImageStore } from '../image/image-store.js';
import { MEDIA, canonicalJson, type OciManifest } from '../image/oci-types.js';
import type { BuildStore } from './build-store.js';
import { configBytes, type BuildState } from './build-state.js';

export async function commitImage(images: ImageStore, store: BuildStore, state: BuildState, tags: readonly string[]): Promise<ImageRecord> {
  // where each layer blob is, found before taking the image store's lock
  const files = new Map<Digest, string>();
  for (const l of state.layers) if (!(await images.blobs.has(l.digest))) files.set(l.digest, await store.layerBlobFile(l.digest, images));
  return images.exclusive(async () => {
    try {
      for (const [digest, file] of files) await images.blobs.putStream(createReadStream(file), digest);
      const cfg = await images.blobs.putBuffer(configBytes(state.config), state.id);
      const manifest: OciManifest = {
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: { mediaType: MEDIA.config, digest: cfg.digest, size: cfg.size },
        layers: state.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      };
      const existing = images.resolve(state.id);
      if (existing !== undefined) {
        // the same image again (a fully cached build, or a Dockerfile that changes nothing): only tags move
        return await images.addImageLocked(existing.manifestDigest as Digest, [...tags]);
      }
      const m = await images.blobs.putBuffer(canonicalJson(manifest));
      return await images.addImageLocked(m.digest, [...tags]);
    } catch (e) {
      await images.gcLocked();
      throw e;
    }
  });
}
