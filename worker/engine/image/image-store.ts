/**
 * The node's image store under `D/image/`: an OCI image layout (blobs, index.json) plus
 * repositories.json for tags, and unpacked layers shared by chain ID. One mutex orders every change.
 */
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BlobStore } from './blob-store.js';
import { chainIds, isDigest, type Digest } from './digest.js';
import { ImageError, imageConflict, imageNotFound } from './errors.js';
import type { ImageRecord } from './image-record.js';
import { LayerStore } from './layer-store.js';
import { Mutex } from '../mutex.js';
import { ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, MEDIA, parseImageConfig, parseManifest, type OciImageConfig, type OciManifest } from './oci-types.js';
import { fullyQualified, normalizeRef, parseRef, splitTagged } from './reference.js';
import { readReferences, writeReferences, type ReferencesState } from './references-file.js';
import { importRootfs, type ImportOptions } from './image-import.js';
import { saveImages, type SaveFormat } from './image-save.js';
import { loadArchive, loadLayoutDir } from './image-load.js';
import { pullImage, type PullOptions, type PullProgress } from './image-pull.js';

interface Loaded {
  manifest: OciManifest;
  config: OciImageConfig;
}

export class ImageStore {
  private readonly mutex = new Mutex();
  private readonly docs = new Map<Digest, Loaded>();

  private constructor(
    readonly root: string,
    readonly blobs: BlobStore,
    readonly layers: LayerStore,
    private readonly state: ReferencesState,
  ) {}

  /** Opens the store at `root` (`D/image`): removes partial layers and unreferenced blobs left by a crash. */
  static async open(root: string): Promise<ImageStore> {
    await mkdir(root, { recursive: true });
    const blobs = await BlobStore.open(root);
    const layers = await LayerStore.open(root);
    const state = await readReferences(root);
    const s = new ImageStore(root, blobs, layers, state);
    for (const [id, img] of [...state.images]) {
      try {
        await s.loadDocs(id, img.manifest);
        await s.ensureLayers(id);
      } catch {
        state.images.delete(id); // an image whose blobs are gone cannot be used; forget it
      }
    }
    for (const [ref, m] of [...state.refs]) if (s.idOfManifest(m) === undefined) state.refs.delete(ref);
    await s.gcLocked();
    await s.persist();
    return s;
  }

  /** Runs fn with the store's lock held (for the import/load helpers). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  private async loadDocs(id: Digest, manifestDigest: Digest): Promise<Loaded> {
    const manifest = parseManifest(await this.blobs.read(manifestDigest));
    if (manifest.config.digest !== id) throw new ImageError(500, `manifest ${manifestDigest} does not describe image ${id}`);
    const config = parseImageConfig(await this.blobs.read(id));
    if (config.rootfs.diff_ids.length !== manifest.layers.length) throw new ImageError(400, `image ${id}: the config lists ${config.rootfs.diff_ids.length} layers, the manifest ${manifest.layers.length}`);
    const loaded = { manifest, config };
    this.docs.set(id, loaded);
    return loaded;
  }

  private async ensureLayers(id: Digest): Promise<void> {
    const d = this.docs.get(id)!;
    const chains = chainIds(d.config.rootfs.diff_ids);
    for (let i = 0; i < chains.length; i++) {
      await this.layers.ensure(chains[i]!, d.config.rootfs.diff_ids[i]!, i === 0 ? null : chains[i - 1]!, this.blobs.path(d.manifest.layers[i]!.digest));
    }
  }

  private idOfManifest(m: Digest): Digest | undefined {
    for (const [id, img] of this.state.images) if (img.manifest === m) return id;
    return undefined;
  }

  /**
   * Registers the image whose manifest blob (and every blob it names) is already in the blob store:
   * unpacks its layers (checking each DiffID) and points `refs` at it. Call with the lock held.
   */
  async addImageLocked(manifestDigest: Digest, refs: string[], repoDigests: string[] = []): Promise<ImageRecord> {
    const manifest = parseManifest(await this.blobs.read(manifestDigest));
    const id = manifest.config.digest;
    const previous = this.state.images.get(id);
    if (previous !== undefined && this.docs.has(id)) {
      // A known image keeps the manifest it came with (its digest is what callers saw); only tags change.
      previous.repoDigests = [...new Set([...previous.repoDigests, ...repoDigests])];
      for (const r of refs) this.setTag(normalizeRef(r), previous.manifest, id);
      await this.gcLocked();
      await this.persist();
      return this.record(id);
    }
    this.state.images.set(id, { manifest: manifestDigest, lastTagTime: previous?.lastTagTime ?? '', repoDigests: [...new Set([...(previous?.repoDigests ?? []), ...repoDigests])] });
    try {
      await this.loadDocs(id, manifestDigest);
      await this.ensureLayers(id);
    } catch (e) {
      if (previous === undefined) this.state.images.delete(id);
      else {
        this.state.images.set(id, previous);
        await this.loadDocs(id, previous.manifest).catch(() => undefined);
      }
      await this.gcLocked();
      throw e;
    }
    for (const r of refs) this.setTag(normalizeRef(r), manifestDigest, id);
    await this.gcLocked();
    await this.persist();
    return this.record(id);
  }

  private setTag(ref: string, manifestDigest: Digest, id: Digest): void {
    if (parseRef(ref).digest !== undefined) throw new ImageError(400, `cannot tag with a digest reference: ${ref}`);
    this.state.refs.set(ref, manifestDigest);
    const img = this.state.images.get(id);
    if (img !== undefined) img.lastTagTime = new Date().toISOString();
  }

  /** "busybox", "busybox:latest", "sha256:<id>", an id prefix (≥ 4 hex digits), or "name@sha256:<manifest>". */
  resolve(refOrId: string): ImageRecord | undefined {
    const id = this.resolveId(refOrId);
    return id === undefined ? undefined : this.record(id);
  }

  private resolveId(refOrId: string): Digest | undefined {
    if (typeof refOrId !== 'string' || refOrId === '') return undefined;
    if (isDigest(refOrId)) return this.state.images.has(refOrId) ? refOrId : undefined;
    let normalized: string | undefined;
    let asked: ReturnType<typeof parseRef> | undefined;
    try {
      asked = parseRef(refOrId);
      // "name:tag@sha256:…" (what swarm pins) is looked up by its digest, as dockerd does
      normalized = asked.digest !== undefined ? `${asked.name}@${asked.digest}` : normalizeRef(refOrId);
    } catch {
      normalized = undefined;
    }
    if (normalized !== undefined && asked !== undefined) {
      const p = parseRef(normalized);
      if (p.digest !== undefined) {
        const byManifest = this.idOfManifest(p.digest);
        if (byManifest !== undefined) return byManifest;
        // a digest the image was pulled by (an index's) is one of its repo digests
        for (const [id, img] of this.state.images) if (img.repoDigests.includes(normalized)) return id;
      } else {
        const m = this.state.refs.get(normalized);
        if (m !== undefined) return this.idOfManifest(m);
      }
    }
    const prefix = refOrId.startsWith('sha256:') ? refOrId.slice(7) : refOrId;
    if (!/^[0-9a-f]{4,64}$/.test(prefix)) return undefined;
    const hits = [...this.state.images.keys()].filter((id) => id.slice(7).startsWith(prefix));
    return hits.length === 1 ? hits[0] : undefined;
  }

  /** Like resolve, but a 404 ImageError when nothing matches. */
  get(refOrId: string): ImageRecord {
    const r = this.resolve(refOrId);
    if (r === undefined) throw imageNotFound(`No such image: ${refOrId}`);
    return r;
  }

  private record(id: Digest): ImageRecord {
    const img = this.state.images.get(id)!;
    const d = this.docs.get(id)!;
    const chains = chainIds(d.config.rootfs.diff_ids);
    const layers = chains.map((c, i) => {
      const info = this.layers.get(c);
      if (info === undefined) throw new ImageError(500, `layer ${c} of image ${id} is missing`);
      return { diffId: d.config.rootfs.diff_ids[i]!, chainId: c, dir: info.dir, size: info.size };
    });
    const repoTags = [...this.state.refs].filter(([, m]) => m === img.manifest).map(([r]) => r).sort();
    return {
      id,
      repoTags,
      repoDigests: [...img.repoDigests],
      config: d.config,
      manifestDigest: img.manifest,
      size: layers.reduce((n, l) => n + l.size, 0),
      created: typeof d.config.created === 'string' ? d.config.created : '',
      layers: layers.map(({ diffId, chainId, dir }) => ({ diffId, chainId, dir })),
      lastTagTime: img.lastTagTime,
    };
  }

  /** Every image, newest first. */
  list(): ImageRecord[] {
    return [...this.state.images.keys()].map((id) => this.record(id)).sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  }

  /** Unpacked layer dirs of an image, TOP layer first (overlayfs lowerdir order). */
  lowerDirs(imageId: string): string[] {
    return this.get(imageId).layers.map((l) => l.dir).reverse();
  }

  /** The manifest and config documents of an image (for save and inspect). */
  documents(imageId: string): { manifest: OciManifest; config: OciImageConfig; manifestDigest: Digest } {
    const rec = this.get(imageId);
    const d = this.docs.get(rec.id as Digest)!;
    return { manifest: d.manifest, config: d.config, manifestDigest: rec.manifestDigest as Digest };
  }

  /** Points `ref` at the image `source` names (moving it off any other image). */
  tag(source: string, ref: string): Promise<void> {
    return this.mutex.run(async () => {
      const rec = this.get(source);
      const target = normalizeRef(ref);
      this.setTag(target, rec.manifestDigest as Digest, rec.id as Digest);
      await this.persist();
    });
  }

  /**
   * Docker's `rmi`: a tag reference is untagged, and the image deleted once no tag is left; an ID
   * deletes the image (with `force`, even when several tags point at it). An image a container
   * uses is refused (409) unless `force`, and then only untagged, never deleted from under it.
   * Layers no image needs any more are deleted with it.
   */
  remove(ref: string, opts: { force: boolean; inUse: (imageId: string) => boolean }): Promise<{ untagged: string[]; deleted: string[] }> {
    return this.mutex.run(async () => {
      const rec = this.get(ref);
      const id = rec.id as Digest;
      let byTag: string | undefined;
      try {
        const n = normalizeRef(ref);
        if (this.state.refs.has(n) && parseRef(n).digest === undefined) byTag = n;
      } catch {
        byTag = undefined;
      }
      const used = opts.inUse(id);
      const untagged: string[] = [];
      const deleted: string[] = [];
      if (byTag !== undefined && rec.repoTags.length > 1) {
        this.state.refs.delete(byTag);
        untagged.push(byTag);
      } else {
        if (byTag === undefined && rec.repoTags.length > 1 && !opts.force) {
          throw imageConflict(`conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
        }
        if (used && !opts.force) {
          throw imageConflict(`conflict: unable to remove repository reference "${ref}" (must force) - image ${id.slice(7, 19)} is being used by a container`);
        }
        for (const t of rec.repoTags) {
          this.state.refs.delete(t);
          untagged.push(t);
        }
        for (const d of rec.repoDigests) untagged.push(d);
        if (!used) {
          this.state.images.delete(id);
          this.docs.delete(id);
          deleted.push(id);
          deleted.push(...(await this.gcLocked()));
        }
      }
      await this.persist();
      return { untagged, deleted };
    });
  }

  /**
   * Docker's image prune: with `dangling`, images without a tag; otherwise every image. Images a
   * container uses are kept. Returns the deleted image IDs (and layer chain IDs) and the bytes freed.
   */
  prune(opts: { dangling: boolean; inUse: (imageId: string) => boolean }): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    return this.mutex.run(async () => {
      const deleted: string[] = [];
      let spaceReclaimed = 0;
      for (const id of [...this.state.images.keys()]) {
        const rec = this.record(id);
        if (opts.inUse(id) || (opts.dangling && rec.repoTags.length > 0)) continue;
        for (const t of rec.repoTags) this.state.refs.delete(t);
        this.state.images.delete(id);
        this.docs.delete(id);
        deleted.push(id);
      }
      if (deleted.length > 0) {
        const before = new Map(this.layers.list().map((l) => [l.chainId, l.size]));
        const gone = await this.gcLocked();
        for (const c of gone) spaceReclaimed += before.get(c as Digest) ?? 0;
        deleted.push(...gone);
        await this.persist();
      }
      return { deleted, spaceReclaimed };
    });
  }

  /** Deletes layers and blobs that no image references; returns the deleted layers' chain IDs. Call with the lock held. */
  async gcLocked(): Promise<string[]> {
    const keepLayers = new Set<Digest>();
    const keepBlobs = new Set<Digest>();
    for (const [id, img] of this.state.images) {
      const d = this.docs.get(id);
      keepBlobs.add(img.manifest);
      keepBlobs.add(id);
      if (d === undefined) continue;
      for (const l of d.manifest.layers) keepBlobs.add(l.digest);
      for (const c of chainIds(d.config.rootfs.diff_ids)) keepLayers.add(c);
    }
    const gone: string[] = [];
    for (const l of this.layers.list()) {
      if (keepLayers.has(l.chainId)) continue;
      await this.layers.remove(l.chainId);
      gone.push(l.chainId);
    }
    for (const b of await this.blobs.list()) if (!keepBlobs.has(b)) await this.blobs.remove(b);
    return gone;
  }

  private async persist(): Promise<void> {
    const manifests = [];
    for (const [id, img] of this.state.images) {
      const tags = [...this.state.refs].filter(([, m]) => m === img.manifest).map(([r]) => r);
      const size = await this.blobs.size(img.manifest);
      const base = { mediaType: MEDIA.manifest, digest: img.manifest, size };
      if (tags.length === 0) manifests.push({ ...base, annotations: { 'io.shoal.image.id': id } });
      for (const t of tags) manifests.push({ ...base, annotations: { [ANNOTATION_REF_NAME]: splitTagged(t).tag, [ANNOTATION_CONTAINERD_NAME]: fullyQualified(t) } });
    }
    await writeReferences(this.root, this.state, { schemaVersion: 2, mediaType: MEDIA.index, manifests });
  }

  /** Imports a rootfs tarball (plain or gzip) as a one-layer image; `changes` are Dockerfile-like lines. */
  importRootfs(tar: NodeJS.ReadableStream | Readable, opts: ImportOptions = {}): Promise<ImageRecord> {
    return importRootfs(this, tar, opts);
  }

  /** A tar stream of the images in `docker save` format or as an OCI image layout. */
  save(refs: string[], format: SaveFormat = 'docker'): Readable {
    return saveImages(this, refs, format);
  }

  /** Loads a `docker save` archive or an OCI layout tarball (detected from its content). */
  load(input: NodeJS.ReadableStream | Readable): Promise<{ loaded: string[] }> {
    return loadArchive(this, input);
  }

  /** Pulls `ref` from its registry (OCI distribution API); progress messages are Docker's pull JSON lines. */
  pull(ref: string, onProgress?: PullProgress, opts: PullOptions = {}): Promise<ImageRecord> {
    return pullImage(this, ref, onProgress, opts);
  }

  /** Loads an OCI image layout directory on disk (e.g. the base image the build script made). */
  loadLayout(dir: string, opts: { ref?: string } = {}): Promise<{ loaded: string[] }> {
    return loadLayoutDir(this, dir, opts);
  }
}
