/**
 * Unpacked layers, one directory per chain ID: `<root>/layers/<chainid-hex>/diff`, described by
 * `layer.json`. A layer is unpacked into `layers/.tmp-…` and renamed into place only when complete,
 * so after a crash a layer directory is either whole or absent; open() removes the leftovers.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hexOf, isDigest, type Digest } from './digest.js';
import { badImageInput } from './errors.js';
import { unpackLayer } from './layer-unpack.js';

export interface LayerInfo {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  /** Sum of the layer's regular file sizes. */
  size: number;
  /** Bytes of the uncompressed tar (for docker-archive export). */
  diffSize: number;
  dir: string;
}

function parseLayerJson(text: string, dir: string): LayerInfo | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (!isDigest(v.chainId) || !isDigest(v.diffId) || (v.parent !== null && !isDigest(v.parent))) return undefined;
    if (typeof v.size !== 'number' || typeof v.diffSize !== 'number') return undefined;
    return { chainId: v.chainId, diffId: v.diffId, parent: v.parent as Digest | null, size: v.size, diffSize: v.diffSize, dir };
  } catch {
    return undefined;
  }
}

export class LayerStore {
  private readonly layers = new Map<Digest, LayerInfo>();
  private constructor(private readonly root: string) {}

  static async open(imageRoot: string): Promise<LayerStore> {
    const root = join(imageRoot, 'layers');
    await mkdir(root, { recursive: true });
    const s = new LayerStore(root);
    for (const name of await readdir(root)) {
      const dir = join(root, name);
      let info: LayerInfo | undefined;
      if (/^[0-9a-f]{64}$/.test(name)) {
        try {
          info = parseLayerJson(await readFile(join(dir, 'layer.json'), 'utf8'), join(dir, 'diff'));
        } catch {
          info = undefined;
        }
      }
      if (info === undefined || hexOf(info.chainId) !== name) await rm(dir, { recursive: true, force: true });
      else s.layers.set(info.chainId, info);
    }
    return s;
  }

  get(chainId: Digest): LayerInfo | undefined {
    return this.layers.get(chainId);
  }

  list(): LayerInfo[] {
    return [...this.layers.values()];
  }

  /** Unpacks the blob as the layer `chainId` unless it is already there; the blob must decompress to `diffId`. */
  async ensure(chainId: Digest, diffId: Digest, parent: Digest | null, blobFile: string): Promise<LayerInfo> {
    const have = this.layers.get(chainId);
    if (have !== undefined) return have;
    const tmp = join(this.root, `.tmp-${hexOf(chainId).slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    const finalDir = join(this.root, hexOf(chainId));
    try {
      await mkdir(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
      const r = await unpackLayer(blobFile, join(tmp, 'diff'));
      if (r.diffId !== diffId) throw badImageInput(`layer content does not match the image config: diff_id ${diffId} expected, the tar is ${r.diffId}`);
      const info: LayerInfo = { chainId, diffId, parent, size: r.size, diffSize: r.diffSize, dir: join(finalDir, 'diff') };
      await writeFile(join(tmp, 'layer.json'), JSON.stringify({ chainId, diffId, parent, size: r.size, diffSize: r.diffSize }));
      await rm(finalDir, { recursive: true, force: true });
      await rename(tmp, finalDir);
      this.layers.set(chainId, info);
      return info;
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  async remove(chainId: Digest): Promise<void> {
    if (!this.layers.has(chainId)) return;
    this.layers.delete(chainId);
    const dir = join(this.root, hexOf(chainId));
    // Rename first, so a crash during the recursive delete never leaves a half layer under its real name.
    const doomed = join(this.root, `.tmp-rm-${hexOf(chainId).slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await rename(dir, doomed).catch(() => undefined);
    await rm(doomed, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}
