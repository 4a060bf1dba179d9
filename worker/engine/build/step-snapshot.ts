/**
 * Snapshots for the steps that change files without a container (COPY, ADD, WORKDIR) and for reading
 * another stage's files (COPY --from): an overlay of the state's layers mounted in the builder's
 * scratch area, always unmounted and removed afterwards. And the step's layer: the upper directory
 * as a tar, stored and unpacked by the build store.
 */
import { lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../image/digest.js';
import type { Descriptor } from '../image/oci-types.js';
import { mountSnapshot, prepareSnapshot, removeSnapshot, snapshotPaths } from '../snapshot/overlay-snapshot.js';
import type { BuildStore } from './build-store.js';
import { diffUpper } from './layer-diff.js';

export async function withSnapshot<T>(store: BuildStore, lowerDirs: readonly string[], fn: (rootfs: string, upper: string) => Promise<T>): Promise<T> {
  const dir = await store.workDir('snap');
  try {
    await prepareSnapshot(dir, lowerDirs.length > 0 ? lowerDirs : [store.emptyDir]);
    await mountSnapshot(dir);
    const p = snapshotPaths(dir);
    return await fn(p.rootfs, p.upper);
  } finally {
    await removeSnapshot(dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * The layer an upper directory makes, stored in the build store; undefined when nothing changed and
 * `always` is false (RUN, COPY and ADD always make a layer, as dockerd does; WORKDIR only when it
 * created the directory).
 */
export async function layerFromUpper(store: BuildStore, upper: string, exclude: ReadonlySet<string>, parentDiffIds: readonly Digest[], always: boolean): Promise<{ diffId: Digest; blob: Descriptor } | undefined> {
  const dir = await store.workDir('diff');
  try {
    const d = await diffUpper(upper, join(dir, 'layer.tar'), exclude);
    if (d.entries === 0 && !always) return undefined;
    const blob = await store.addLayer(d.file, d.diffId, parentDiffIds);
    return { diffId: d.diffId, blob };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Mount points the runtime adds to every container; kept out of a RUN layer unless the image has them. */
const RUNTIME_PATHS = ['proc', 'sys', 'dev', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', '.dockerenv'];

/** The runtime's (and the image's volumes') mount points that no lower layer has: not part of a RUN's changes. */
export async function runExclusions(lowerDirs: readonly string[], volumes: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const candidates = [...RUNTIME_PATHS, ...volumes.map((v) => v.replace(/^\/+|\/+$/g, '')).filter((v) => v !== '')];
  for (const c of candidates) {
    let present = false;
    for (const l of lowerDirs) {
      try {
        await lstat(join(l, c));
        present = true;
        break;
      } catch {
        // not in this layer
      }
    }
    if (!present) out.add(c);
  }
  return out;
}
