/**
 * Puts a layer tarball into the blob store gzip-compressed (as registries and `skopeo copy` expect,
 * so copies of a saved layout keep their manifest digest). A gzip layer is kept byte for byte.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { BlobStore } from './blob-store.js';
import type { Digest } from './digest.js';
import { ImageError, badImageInput, messageOf } from './errors.js';
import { detectCompression } from './layer-unpack.js';
import { MEDIA } from './oci-types.js';

export async function putLayerBlob(blobs: BlobStore, file: string): Promise<{ digest: Digest; size: number; mediaType: string }> {
  if ((await detectCompression(file)) === 'gzip') {
    return { ...(await blobs.putStream(createReadStream(file))), mediaType: MEDIA.layerGzip };
  }
  const gz = blobs.tmpPath('gz');
  try {
    await pipeline(createReadStream(file), createGzip(), createWriteStream(gz));
    return { ...(await blobs.putFile(gz)), mediaType: MEDIA.layerGzip };
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw badImageInput(`cannot compress the layer: ${messageOf(e)}`, e);
  } finally {
    await rm(gz, { force: true });
  }
}
