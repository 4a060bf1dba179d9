/**
 * The file work of COPY and ADD: sources found in a root (the build context or another stage's
 * filesystem) by path or Go wildcard, checksummed for the cache (content, mode, type, link target —
 * never times or owners), and copied into a mounted root filesystem with the owner and mode the
 * instruction asks for. Paths inside a root resolve their symlinks inside that root.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import { BuildError } from './build-error.js';
import { hasWildcard, patternToRegExp, type IgnoreMatcher } from './path-match.js';

/** Resolves `p` inside `root` as a chroot would: absolute symlinks point at root, ".." stops at it. */
export async function resolveInRoot(root: string, p: string, followLast = true): Promise<string> {
  const queue = p.split('/').filter((x) => x !== '' && x !== '.');
  let resolved: string[] = [];
  let budget = 255;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part];
    if (queue.length === 0 && !followLast) {
      resolved = candidate;
      break;
    }
    let st: Stats;
    try {
      st = await lstat(join(root, ...candidate));
    } catch {
      resolved = candidate;
      continue;
    }
    if (!st.isSymbolicLink()) {
      resolved = candidate;
      continue;
    }
    if (--budget < 0) throw new BuildError(400, `too many levels of symbolic links resolving ${p}`);
    const target = await readlink(join(root, ...candidate));
    if (target.startsWith('/')) resolved = [];
    queue.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
  }
  return join(root, ...resolved);
}

export interface Source {
  /** where it is on the host */
  path: string;
  /** its name as the instruction matched it (relative to the source root) */
  rel: string;
  isDir: boolean;
}

/** A context path that stays inside the context ("../x" is refused, as dockerd does). */
function contextRel(src: string): string {
  const n = posix.normalize(src.startsWith('/') ? src.slice(1) : src);
  if (n === '..' || n.startsWith('../')) throw new BuildError(400, `forbidden path outside the build context: ${src}`);
  return n === '.' ? '' : n.replace(/\/$/, '');
}

async function walkPaths(root: string, rel: string, ignore: IgnoreMatcher | undefined, out: string[]): Promise<void> {
  for (const name of (await readdir(rel === '' ? root : join(root, rel))).sort()) {
    const child = rel === '' ? name : `${rel}/${name}`;
    if (ignore?.matches(child)) continue;
    out.push(child);
    const st = await lstat(join(root, child));
    if (st.isDirectory()) await walkPaths(root, child, ignore, out);
  }
}

/**
 * The sources a COPY/ADD names, in order. `what` words the not-found error ("build context" or
 * "stage build"); `ignore` hides .dockerignore'd context paths.
 */
export async function findSources(root: string, patterns: readonly string[], what: string, ignore?: IgnoreMatcher): Promise<Source[]> {
  const out: Source[] = [];
  let all: string[] | undefined;
  for (const pattern of patterns) {
    const rel = contextRel(pattern);
    if (hasWildcard(rel)) {
      all ??= await (async () => {
        const list: string[] = [];
        await walkPaths(root, '', ignore, list);
        return list;
      })();
      let re: RegExp;
      try {
        re = patternToRegExp(rel, false);
      } catch (e) {
        throw new BuildError(400, (e as Error).message);
      }
      const hits = all.filter((p) => re.test(p));
      for (const h of hits) {
        const st = await lstat(join(root, h));
        out.push({ path: join(root, h), rel: h, isDir: st.isDirectory() });
      }
      continue;
    }
    if (rel !== '' && ignore?.matches(rel)) throw new BuildError(400, `file not found in ${what} or excluded by .dockerignore: stat ${pattern}: file does not exist`);
    const host = await resolveInRoot(root, rel, true);
    let st: Stats;
    try {
      st = await lstat(host);
    } catch {
      throw new BuildError(400, `file not found in ${what}${ignore ? ' or excluded by .dockerignore' : ''}: stat ${pattern}: file does not exist`);
    }
    out.push({ path: host, rel, isDir: st.isDirectory() });
  }
  if (out.length === 0) throw new BuildError(400, 'no source files were specified');
  return out;
}

/** The cache checksum of the sources: names, types, modes, sizes, contents, link targets. */
export async function checksumSources(sources: readonly Source[], ignore?: { root: string; matcher: IgnoreMatcher }): Promise<string> {
  const h = createHash('sha256');
  const file = async (path: string): Promise<void> => {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  };
  const entry = async (path: string, name: string): Promise<void> => {
    const st = await lstat(path);
    h.update(`\0${name}\0${st.mode & 0o177777}\0`);
    if (st.isSymbolicLink()) h.update(`l${await readlink(path)}`);
    else if (st.isFile()) {
      h.update(`f${st.size}\0`);
      await file(path);
    } else if (st.isDirectory()) {
      h.update('d');
      for (const n of (await readdir(path)).sort()) {
        const child = join(path, n);
        if (ignore && child.startsWith(`${ignore.root}/`) && ignore.matcher.matches(child.slice(ignore.root.length + 1))) continue;
        await entry(child, `${name}/${n}`);
      }
    }
  };
  for (const s of sources) await entry(s.path, s.rel);
  return `sha256:${h.digest('hex')}`;
}

export interface Owner {
  uid: number;
  gid: number;
}

/** --chown=user[:group] against the destination's /etc/passwd and /etc/group; a lone user gives gid = uid. */
export async function resolveChown(rootfs: string, spec: string): Promise<Owner> {
  const [u = '', g] = spec.split(':');
  const lookup = async (file: string, name: string, what: string): Promise<number> => {
    if (/^\d+$/.test(name)) return Number(name);
    let text = '';
    try {
      text = await readFile(await resolveInRoot(rootfs, file), 'utf8');
    } catch {
      text = '';
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
    }
    throw new BuildError(400, `unable to convert uid/gid chown string to host mapping: can't find ${what} for ${name}: no such ${what === 'uid' ? 'user' : 'group'}`);
  };
  if (u === '') throw new BuildError(400, `invalid --chown ${JSON.stringify(spec)}`);
  const uid = await lookup('/etc/passwd', u, 'uid');
  const gid = g === undefined || g === '' ? uid : await lookup('/etc/group', g, 'gid');
  return { uid, gid };
}

export interface CopyOptions {
  owner: Owner;
  /** keep each source file's own owner (what ADD does with the contents of an archive) */
  keepOwner?: boolean;
  chmod?: number;
}

/**
 * Makes `host` (a path already resolved inside the root) a directory, creating missing parents;
 * new directories get the owner.
 */
async function ensureDir(rootfs: string, host: string, owner: Owner, what: string): Promise<void> {
  if (host !== rootfs && !host.startsWith(`${rootfs}/`)) throw new BuildError(500, `${host} is outside the root ${rootfs}`);
  const st = await lstatOrUndefined(host);
  if (st?.isDirectory()) return;
  if (st !== undefined) throw new BuildError(400, `cannot create directory ${what}: ${host.slice(rootfs.length) || '/'} exists and is not a directory`);
  await ensureDir(rootfs, dirname(host), owner, what);
  await mkdir(host, { mode: 0o755 });
  await chmod(host, 0o755);
  await lchown(host, owner.uid, owner.gid);
}

/** mkdir -p inside the root; new directories get the owner. Returns the host path. */
export async function mkdirInRoot(rootfs: string, containerDir: string, owner: Owner): Promise<string> {
  const parts = containerDir.split('/').filter((x) => x !== '');
  let cur = '';
  for (const part of parts) {
    cur = `${cur}/${part}`;
    await ensureDir(rootfs, await resolveInRoot(rootfs, cur, true), owner, containerDir);
  }
  return resolveInRoot(rootfs, containerDir, true);
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

/**
 * Copies `src` (a host path, never followed if it is a link) to the container path `dst`. Every
 * destination path is resolved inside the root as a chroot would (an image's `/lib -> /usr/lib`
 * leads to the image's /usr/lib, never the host's); a leaf that exists is replaced, a directory merged.
 */
async function copyEntry(rootfs: string, src: string, dst: string, o: CopyOptions, top: boolean): Promise<void> {
  const st = await lstat(src);
  const owner = o.keepOwner ? { uid: st.uid, gid: st.gid } : o.owner;
  if (st.isDirectory()) {
    const host = await resolveInRoot(rootfs, dst, true);
    const existing = await lstatOrUndefined(host);
    if (existing !== undefined && !existing.isDirectory()) await rm(host, { force: true });
    if (existing === undefined || !existing.isDirectory()) await ensureDir(rootfs, host, owner, dst);
    // the directory a COPY of a directory names is the destination: it keeps its own metadata when it exists
    const own = !top || existing === undefined || !existing.isDirectory();
    if (own) {
      await chmod(host, o.chmod ?? st.mode & 0o7777);
      await lchown(host, owner.uid, owner.gid);
    }
    for (const n of await readdir(src)) await copyEntry(rootfs, join(src, n), posix.join(dst, n), o, false);
    if (own) await lutimes(host, st.atime, st.mtime);
    return;
  }
  if (!st.isSymbolicLink() && !st.isFile()) return; // devices, fifos and sockets are not copied
  const parent = await resolveInRoot(rootfs, posix.dirname(dst), true);
  await ensureDir(rootfs, parent, owner, posix.dirname(dst));
  const leaf = join(parent, posix.basename(dst));
  await rm(leaf, { recursive: true, force: true });
  if (st.isSymbolicLink()) await symlink(await readlink(src), leaf);
  else {
    await copyFile(src, leaf);
    await chmod(leaf, o.chmod ?? st.mode & 0o7777);
  }
  await lchown(leaf, owner.uid, owner.gid);
  await lutimes(leaf, st.atime, st.mtime);
}

/**
 * Copies the sources to `dest` (a clean absolute container path) inside the mounted `rootfs`:
 * a directory's contents go into dest; a file goes to dest, or into it when dest is a directory
 * (it ends with "/", there are several sources, or it already is one).
 */
export async function copySources(rootfs: string, sources: readonly Source[], dest: string, destIsDir: boolean, o: CopyOptions): Promise<void> {
  const destStat = await lstatOrUndefined(await resolveInRoot(rootfs, dest, true));
  const intoDir = destIsDir || destStat?.isDirectory() === true;
  for (const s of sources) {
    if (s.isDir) {
      await mkdirInRoot(rootfs, dest, o.owner);
      await copyEntry(rootfs, s.path, dest, o, true);
    } else if (intoDir) {
      await mkdirInRoot(rootfs, dest, o.owner);
      await copyEntry(rootfs, s.path, posix.join(dest, posix.basename(s.rel === '' ? s.path : s.rel)), o, false);
    } else {
      await mkdirInRoot(rootfs, posix.dirname(dest), o.owner);
      await copyEntry(rootfs, s.path, dest, o, false);
    }
  }
}
