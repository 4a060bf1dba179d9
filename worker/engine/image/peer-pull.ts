/**
 * Image distribution inside the cluster: a node that lacks an image fetches it from another node's
 * engine (peer-server.ts) with no registry involved. Nothing the peer says is trusted: the manifest's
 * digest is computed from its bytes (and must match a pinned `name@sha256:…`, and the digest the peer
 * claims), the config must be the image ID the caller expects (when it says), every blob is hashed
 * and sized against its descriptor, and every layer's DiffID is checked as it unpacks. A peer that
 * fails any check is refused and the next one tried; a failure leaves nothing in the store.
 *
 * `ensureImage` is the executor's policy: present → done; else the registry first (a registry
 * reference in a service spec still means the registry), then the peers the swarm names.
 */
import type { Readable } from 'node:stream';
import { isDigest, type Digest } from './digest.js';
import { ImageError, badImageInput, imageNotFound, messageOf } from './errors.js';
import { pullImage, storeImageFrom, type PullOptions, type PullProgress } from './image-pull.js';
import type { ImageRecord } from './image-record.js';
import type { ImageStore } from './image-store.js';
import { parseManifest } from './oci-types.js';
import type { PeerManifest } from './peer-client.js';
import { lookupKey } from './peer-protocol.js';
import { normalizeRef, parseRef } from './reference.js';

/** What the puller needs of a peer (PeerClient is one; tests may serve from anything). */
export interface PeerSource {
  readonly label: string;
  manifest(ref: string): Promise<PeerManifest>;
  blob(digest: Digest): Promise<Readable>;
  blobFrom?(digest: Digest, offset: number): Promise<{ stream: Readable; start: number }>;
}

export interface PeerPullOptions {
  /** blobs fetched at once from one peer, default 3 */
  concurrency?: number;
  /** the image ID (config digest) the caller knows the image has; a peer serving another is refused */
  expectedImageId?: string;
  /** wait before retry n of a broken blob transfer is n × this, default 1000 ms */
  retryDelayMs?: number;
}

/** What a pulled image is called here: tags for a tag reference, a repo digest for a pinned one, nothing for an ID. */
function namesFor(ref: string): { tags: string[]; repoDigests: string[]; display: string } {
  if (isDigest(ref)) return { tags: [], repoDigests: [], display: ref };
  const p = parseRef(ref);
  if (p.digest !== undefined) return { tags: [], repoDigests: [`${p.name}@${p.digest}`], display: `${p.name}@${p.digest}` };
  const n = normalizeRef(ref);
  return { tags: [n], repoDigests: [], display: n };
}

/** Checks one peer's manifest against everything known before any blob is fetched. */
export function checkPeerManifest(ref: string, m: PeerManifest, label: string, expectedImageId?: string): ReturnType<typeof parseManifest> {
  if (m.claimedDigest !== undefined && m.claimedDigest !== m.digest) throw badImageInput(`${label} sent a manifest whose content is ${m.digest}, not the ${m.claimedDigest} it claims`);
  const pinned = isDigest(ref) ? undefined : parseRef(ref).digest;
  if (pinned !== undefined && pinned !== m.digest) throw badImageInput(`${label} sent manifest ${m.digest} for ${ref}, which pins ${pinned}`);
  let manifest;
  try {
    manifest = parseManifest(m.bytes);
  } catch (e) {
    throw badImageInput(`${label} sent a manifest for ${ref} that is not an image manifest: ${messageOf(e)}`);
  }
  const wantId = expectedImageId ?? (isDigest(ref) ? ref : undefined);
  if (wantId !== undefined && manifest.config.digest !== wantId) throw badImageInput(`${label} serves image ${manifest.config.digest} for ${ref}, not ${wantId}`);
  return manifest;
}

/**
 * Pulls `ref` (a tag, `name[:tag]@sha256:<manifest>`, or an image ID `sha256:<config>`) from the first
 * of `peers` that has it and passes every check. Throws 404 when no peer has it, else the reasons.
 */
export async function pullFromPeers(store: ImageStore, ref: string, peers: readonly PeerSource[], onProgress: PullProgress = () => undefined, opts: PeerPullOptions = {}): Promise<ImageRecord> {
  if (!isDigest(ref)) parseRef(ref); // a malformed reference is a 400 before any peer is asked
  const failures: string[] = [];
  let allMissing = true;
  for (const peer of peers) {
    try {
      const m = await peer.manifest(ref);
      const manifest = checkPeerManifest(ref, m, peer.label, opts.expectedImageId);
      const names = namesFor(ref);
      const here = store.resolve(lookupKey(isDigest(ref) ? ref : names.repoDigests[0] ?? names.tags[0]!));
      if (here !== undefined && here.manifestDigest === m.digest) {
        onProgress({ status: `Digest: ${m.digest}` });
        onProgress({ status: `Status: Image is up to date for ${names.display}` });
        return here;
      }
      onProgress({ status: `Pulling from ${peer.label}`, id: names.display });
      return await storeImageFrom(store, peer, { bytes: m.bytes, digest: m.digest, manifest }, { ...names, ref: names.display, onProgress, concurrency: opts.concurrency ?? 3, ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}) });
    } catch (e) {
      const status = e instanceof ImageError ? e.status : 500;
      if (status !== 404) allMissing = false;
      failures.push(messageOf(e));
    }
  }
  if (peers.length === 0) throw imageNotFound(`No such image: ${ref} (no peer node to fetch it from)`);
  if (allMissing) throw imageNotFound(`No such image: ${ref} on any peer node (${failures.join('; ')})`);
  throw new ImageError(500, `fetching ${ref} from peer nodes failed: ${failures.join('; ')}`);
}

export interface EnsureImageOptions {
  /**
   * 'registry-first' (default): the registry, then the peers; 'peers-first': the peers, then the
   * registry; 'peers-only': never a registry (an image built on a node, known to the swarm only).
   */
  order?: 'registry-first' | 'peers-first' | 'peers-only';
  registry?: PullOptions;
  /** the peers that may have it (asked only when needed) */
  peers?: () => Promise<readonly PeerSource[]> | readonly PeerSource[];
  peer?: PeerPullOptions;
  onProgress?: PullProgress;
}

/** Pulls in flight per store and reference: tasks starting together on one node share one download. */
const inflight = new WeakMap<ImageStore, Map<string, Promise<ImageRecord>>>();

/**
 * The image `ref` in the store: as it is, or pulled from a registry or a peer, in the order asked.
 * Callers asking for the same reference at once share one pull (progress goes to the first caller).
 */
export function ensureImage(store: ImageStore, ref: string, opts: EnsureImageOptions = {}): Promise<ImageRecord> {
  const here = store.resolve(isDigest(ref) ? ref : lookupKey(ref));
  if (here !== undefined) return Promise.resolve(here);
  let forStore = inflight.get(store);
  if (forStore === undefined) inflight.set(store, (forStore = new Map()));
  const running = forStore.get(ref);
  if (running !== undefined) return running;
  const p = fetchImage(store, ref, opts);
  forStore.set(ref, p);
  const clear = (): void => void forStore.delete(ref);
  p.then(clear, clear);
  return p;
}

async function fetchImage(store: ImageStore, ref: string, opts: EnsureImageOptions): Promise<ImageRecord> {
  const onProgress = opts.onProgress ?? (() => undefined);
  const order = opts.order ?? 'registry-first';
  const fromRegistry = (): Promise<ImageRecord> => {
    if (isDigest(ref)) throw imageNotFound(`No such image: ${ref} (an image ID cannot be pulled from a registry)`);
    return pullImage(store, ref, onProgress, opts.registry ?? {});
  };
  const fromPeers = async (): Promise<ImageRecord> => pullFromPeers(store, ref, (await opts.peers?.()) ?? [], onProgress, opts.peer ?? {});
  const steps = order === 'peers-only' ? [fromPeers] : order === 'peers-first' ? [fromPeers, fromRegistry] : [fromRegistry, fromPeers];
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      return await step();
    } catch (e) {
      if (e instanceof ImageError && e.status === 400 && errors.length === 0 && /invalid reference format/.test(e.message)) throw e;
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  const notFound = errors.every((e) => e instanceof ImageError && e.status === 404);
  const text = errors.map((e) => messageOf(e)).join('; then ');
  throw notFound ? imageNotFound(text) : new ImageError(500, text);
}
