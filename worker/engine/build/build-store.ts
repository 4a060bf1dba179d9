/**
 * The builder's own storage under `D/build/`: the layer blobs and configs its steps made (an OCI blob
 * directory), those layers unpacked by chain ID (overlay lower dirs for later steps), the step cache
 * (`cache.json`: step key → the state it produced) and a scratch area (`work/`) for contexts,
 * snapshots and tars. It outlives builds, so a later build reuses the steps of an earlier one;
 * `prune()` (docker builder prune) empties it.
 */
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobStore } from '../image/blob-store.js';
import { chainIds, isDigest, type Digest } from '../image/digest.js';
import type { ImageStore } from '../image/image-store.js';
import { putLayerBlob } from '../image/layer-blob.js';
import { LayerStore } from '../image/layer-store.js';
import { parseDescriptor, parseImageConfig, type Descriptor } from '../image/oci-types.js';
import { KeyedQueue, Mutex } from '../mutex.js';
import { removeSnapshot } from '../snapshot/overlay-snapshot.js';
import { BuildError } from './build-error.js';
import { configBytes, type BuildState } from './build-state.js';

interface CacheEntry {
  id: Digest;
  layers: Descriptor[];
}

export class BuildStore {
  private readonly mutex = new Mutex();
  private readonly unpacking = new KeyedQueue();
  private active = 0;

  private constructor(
    readonly root: string,
    readonly blobs: BlobStore,
    readonly layers: LayerStore,
    private readonly entries: Map<string, CacheEntry>,
  ) {}

  static async open(root: string): Promise<BuildStore> {
    await mkdir(root, { recursive: true });
    const work = join(root, 'work');
    await mkdir(work, { recursive: true });
    // a crash may leave snapshots mounted in the scratch area: unmount, then delete
    for (const name of await readdir(work)) {
      await removeSnapshot(join(work, name)).catch(() => undefined);
      await rm(join(work, name), { recursive: true, force: true });
    }
    await mkdir(join(root, 'empty'), { recursive: true });
    const blobs = await BlobStore.open(root);
    const layers = await LayerStore.open(root);
    return new BuildStore(root, blobs, layers, await readEntries(join(root, 'cache.json')));
  }

  /** An empty directory: the lower dir of a FROM scratch snapshot. */
  get emptyDir(): string {
    return join(this.root, 'empty');
  }

  /** A fresh directory in the scratch area. */
  async workDir(tag: string): Promise<string> {
    const d = join(this.root, 'work', `${tag}-${randomBytes(6).toString('hex')}`);
    await mkdir(d, { recursive: true });
    return d;
  }

  /** Counts a running build (prune refuses while any runs). */
  async session<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
    }
  }

  private async blobFile(d: Digest, images: ImageStore): Promise<string | undefined> {
    if (await this.blobs.has(d)) return this.blobs.path(d);
    if (await images.blobs.has(d)) return images.blobs.path(d);
    return undefined;
  }

  /** The state a step with this key produced before, if its blobs are all still here. */
  async lookup(key: string, images: ImageStore): Promise<BuildState | undefined> {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    try {
      const config = parseImageConfig(await this.blobs.read(e.id));
      for (const l of e.layers) if ((await this.blobFile(l.digest, images)) === undefined) return undefined;
      return { id: e.id, config, layers: e.layers };
    } catch {
      return undefined;
    }
  }

  /** Remembers the state a step produced (its config becomes a blob here). */
  record(key: string, state: BuildState): Promise<void> {
    return this.mutex.run(async () => {
      await this.blobs.putBuffer(configBytes(state.config), state.id);
      this.entries.set(key, { id: state.id, layers: state.layers });
      await writeEntries(join(this.root, 'cache.json'), this.entries);
    });
  }

  /** Stores a layer tar (gzip-compressed) and unpacks it as the layer on top of `parentDiffIds`. */
  async addLayer(tarFile: string, diffId: Digest, parentDiffIds: readonly Digest[]): Promise<Descriptor> {
    const blob = await putLayerBlob(this.blobs, tarFile);
    const chains = chainIds([...parentDiffIds, diffId]);
    const chain = chains[chains.length - 1]!;
    const parent = chains.length > 1 ? chains[chains.length - 2]! : null;
    await this.unpacking.serialize(chain, () => this.layers.ensure(chain, diffId, parent, this.blobs.path(blob.digest)));
    return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
  }

  /** The unpacked layer dirs of a state, top first (unpacking any that are missing). */
  async lowerDirs(state: BuildState, images: ImageStore): Promise<string[]> {
    const diffIds = state.config.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    const dirs: string[] = [];
    for (let i = 0; i < chains.length; i++) {
      const c = chains[i]!;
      const have = images.layers.get(c) ?? this.layers.get(c);
      if (have !== undefined) {
        dirs.push(have.dir);
        continue;
      }
      const desc = state.layers[i];
      const file = desc === undefined ? undefined : await this.blobFile(desc.digest, images);
      if (file === undefined) throw new BuildError(500, `layer ${diffIds[i]} of the build state is missing (its blob is gone)`);
      const info = await this.unpacking.serialize(c, () => this.layers.ensure(c, diffIds[i]!, i === 0 ? null : chains[i - 1]!, file));
      dirs.push(info.dir);
    }
    return dirs.reverse();
  }

  /** Where a layer blob of a state is (the builder's blobs or the image store's). */
  async layerBlobFile(d: Digest, images: ImageStore): Promise<string> {
    const f = await this.blobFile(d, images);
    if (f === undefined) throw new BuildError(500, `layer blob ${d} is missing`);
    return f;
  }

  /** docker builder prune: forgets every cached step and deletes the builder's blobs and layers. */
  prune(): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    return this.mutex.run(async () => {
      if (this.active > 0) throw new BuildError(409, 'a build is running: prune the build cache when it has finished');
      const deleted = [...this.entries.keys()];
      let spaceReclaimed = 0;
      for (const l of this.layers.list()) {
        spaceReclaimed += l.size;
        await this.layers.remove(l.chainId);
      }
      for (const b of await this.blobs.list()) await this.blobs.remove(b);
      this.entries.clear();
      await writeEntries(join(this.root, 'cache.json'), this.entries);
      return { deleted, spaceReclaimed };
    });
  }

  /** Bytes and counts for `docker system df` style reports. */
  usage(): { entries: number; layers: number; size: number } {
    return { entries: this.entries.size, layers: this.layers.list().length, size: this.layers.list().reduce((n, l) => n + l.size, 0) };
  }
}

async function readEntries(file: string): Promise<Map<string, CacheEntry>> {
  const out = new Map<string, CacheEntry>();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return out;
  }
  try {
    const v = JSON.parse(text) as { entries?: Record<string, { id?: unknown; layers?: unknown }> };
    for (const [k, e] of Object.entries(v.entries ?? {})) {
      if (!isDigest(e.id) || !Array.isArray(e.layers)) continue;
      out.set(k, { id: e.id, layers: e.layers.map((l, i) => parseDescriptor(l, `cache layer ${i}`)) });
    }
  } catch {
    // a damaged cache is an empty cache
    out.clear();
  }
  return out;
}

async function writeEntries(file: string, entries: Map<string, CacheEntry>): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(JSON.stringify({ version: 1, entries: Object.fromEntries(entries) }));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
