/**
 * Copy-on-write root filesystems on overlayfs: per container `<dir>/{upper,work,rootfs}` plus `<dir>/l/`,
 * a directory of short symlinks (0, 1, …) to the image's lower dirs, top first. The mount runs with its
 * cwd in `l/`, so the option string holds short relative names and stays under the kernel's one-page
 * limit even with hundreds of layers (overlayfs itself stops at 500).
 */
import { mkdir, readFile, readlink, rm, symlink, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../runtime/exec-file.js';

export const MAX_LOWER_DIRS = 500;

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export interface SnapshotPaths {
  dir: string;
  upper: string;
  work: string;
  rootfs: string;
  links: string;
}

export function snapshotPaths(dir: string): SnapshotPaths {
  return { dir, upper: join(dir, 'upper'), work: join(dir, 'work'), rootfs: join(dir, 'rootfs'), links: join(dir, 'l') };
}

/** Whether `path` is a mount point, from /proc/self/mountinfo. */
export async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const esc = path.replace(/\\/g, '\\134').replace(/ /g, '\\040');
  return info.split('\n').some((line) => line.split(' ')[4] === esc);
}

/** Creates the directories and the lower-dir links (idempotent: the links are rewritten). */
export async function prepareSnapshot(dir: string, lowerDirs: readonly string[]): Promise<SnapshotPaths> {
  if (lowerDirs.length === 0) throw new SnapshotError('an image needs at least one layer');
  if (lowerDirs.length > MAX_LOWER_DIRS) throw new SnapshotError(`${lowerDirs.length} layers: overlayfs stacks at most ${MAX_LOWER_DIRS}`);
  const p = snapshotPaths(dir);
  for (const d of [p.upper, p.work, p.rootfs]) await mkdir(d, { recursive: true });
  await rm(p.links, { recursive: true, force: true });
  await mkdir(p.links);
  await Promise.all(lowerDirs.map((l, i) => symlink(l, join(p.links, String(i)))));
  return p;
}

/** Mounts the overlay (no-op when already mounted). */
export async function mountSnapshot(dir: string): Promise<void> {
  const p = snapshotPaths(dir);
  if (await isMountPoint(p.rootfs)) return;
  const n = (await readdir(p.links)).length;
  if (n === 0) throw new SnapshotError(`snapshot ${dir} has no lower dirs`);
  // a `volatile` mount or a crash may leave work/incompat behind, which refuses a remount
  await rm(join(p.work, 'work', 'incompat'), { recursive: true, force: true });
  const lower = Array.from({ length: n }, (_, i) => String(i)).join(':');
  const opts = `lowerdir=${lower},upperdir=../upper,workdir=../work`;
  const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', opts, '../rootfs'], { cwd: p.links, timeoutMs: 30_000 });
  if (r.code !== 0) throw new SnapshotError(`overlay mount of ${p.rootfs} failed: ${r.stderr.trim()}`);
}

/** Unmounts the overlay (no-op when not mounted); lazy as a last resort when busy. */
export async function unmountSnapshot(dir: string): Promise<void> {
  const p = snapshotPaths(dir);
  if (!(await isMountPoint(p.rootfs))) return;
  const r = await run('umount', [p.rootfs], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    const lazy = await run('umount', ['-l', p.rootfs], { timeoutMs: 30_000 });
    if (lazy.code !== 0) throw new SnapshotError(`umount ${p.rootfs} failed: ${r.stderr.trim()}`);
  }
}

/** The lower dirs a snapshot was prepared with, top first. */
export async function snapshotLowerDirs(dir: string): Promise<string[]> {
  const p = snapshotPaths(dir);
  const names = (await readdir(p.links)).map(Number).sort((a, b) => a - b);
  return Promise.all(names.map((i) => readlink(join(p.links, String(i)))));
}

/** Unmounts and deletes the snapshot's directories. */
export async function removeSnapshot(dir: string): Promise<void> {
  await unmountSnapshot(dir);
  const p = snapshotPaths(dir);
  for (const d of [p.rootfs, p.upper, p.work, p.links]) await rm(d, { recursive: true, force: true });
}
