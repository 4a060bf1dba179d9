/**
 * Files in and out of a container's root filesystem (docker cp, docker export) through tar(1) on the
 * merged overlay dir. Paths are resolved inside the rootfs; bind mounts and volumes are not included.
 */
import { spawn } from 'node:child_process';
import { lstat, readlink } from 'node:fs/promises';
import { posix, join } from 'node:path';
import type { Readable } from 'node:stream';
import { badRequest, notFound } from './errors.js';

/** Docker's X-Docker-Container-Path-Stat content. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** A path inside the container, normalized and kept inside the rootfs. */
export function containerPath(rootfs: string, p: string): string {
  if (typeof p !== 'string' || p === '') throw badRequest('path is required');
  const n = posix.normalize(posix.join('/', p));
  return join(rootfs, n);
}

// Go's os.FileMode bits Docker puts in the stat header
const GO_DIR = 0x80000000;
const GO_SYMLINK = 0x08000000;

export async function statPath(rootfs: string, p: string): Promise<PathStat> {
  const full = containerPath(rootfs, p);
  const st = await lstat(full).catch(() => undefined);
  if (!st) throw notFound(`Could not find the file ${p} in container`);
  let mode = st.mode & 0o7777;
  if (st.isDirectory()) mode |= GO_DIR;
  if (st.isSymbolicLink()) mode |= GO_SYMLINK;
  return {
    name: posix.basename(posix.normalize(posix.join('/', p))) || '/',
    size: st.size,
    mode: mode >>> 0,
    mtime: st.mtime.toISOString(),
    linkTarget: st.isSymbolicLink() ? await readlink(full) : '',
  };
}

function tarOut(args: string[]): Readable {
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  return child.stdout;
}

/** GET /containers/{id}/archive: a tar of `p` (its basename at the top). */
export async function getArchive(rootfs: string, p: string): Promise<{ stat: PathStat; stream: Readable }> {
  const stat = await statPath(rootfs, p);
  const full = containerPath(rootfs, p);
  const parent = posix.dirname(full);
  const base = posix.basename(full);
  return { stat, stream: tarOut(['-C', parent, '--numeric-owner', '-cf', '-', base === '' ? '.' : base]) };
}

/** PUT /containers/{id}/archive: extracts a tar into directory `p`. */
export async function putArchive(rootfs: string, p: string, tar: Readable): Promise<void> {
  const dir = containerPath(rootfs, p);
  const st = await lstat(dir).catch(() => undefined);
  if (!st) throw notFound(`Could not find the file ${p} in container`);
  if (!st.isDirectory()) throw badRequest(`extraction point is not a directory: ${p}`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('tar', ['-C', dir, '--numeric-owner', '-xf', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.on('error', () => undefined);
    tar.on('error', (e) => {
      child.kill('SIGKILL');
      reject(badRequest(`archive: ${e.message}`));
    });
    tar.pipe(child.stdin);
    child.on('close', (code) => (code === 0 ? resolve() : reject(badRequest(`archive could not be extracted: ${err.trim()}`))));
  });
}

/** GET /containers/{id}/export: the whole root filesystem as a tar. */
export function exportRootfs(rootfs: string): Readable {
  return tarOut(['-C', rootfs, '--numeric-owner', '-cf', '-', '.']);
}
