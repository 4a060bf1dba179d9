/**
 * The build context: the request body (a tar, plain or gzip) unpacked into a private directory, with
 * .dockerignore applied (the docker CLI applies it before sending; dockerode does not), and the
 * Dockerfile read out of it. Entries that would land outside the directory are refused.
 */
import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, readFile, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { BuildError } from './build-error.js';
import { cleanRel, IgnoreMatcher } from './path-match.js';

export interface BuildContext {
  dir: string;
  ignore: IgnoreMatcher;
  dockerfile: string;
  dockerfileText: string;
}

/** Looks at the first bytes of the body and undoes gzip; plain tar passes through. */
async function decompressed(input: Readable | NodeJS.ReadableStream): Promise<Readable> {
  const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await it.next();
  const out = new PassThrough();
  if (first.done === true) {
    out.end();
    return out;
  }
  const head = Buffer.from(first.value);
  const magicGzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') throw new BuildError(400, 'the build context is bzip2-compressed: send a plain or gzip tar');
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw new BuildError(400, 'the build context is xz-compressed: send a plain or gzip tar');
  void (async () => {
    try {
      out.write(head);
      for (;;) {
        const n = await it.next();
        if (n.done === true) break;
        if (!out.write(n.value)) await new Promise((r) => out.once('drain', r));
      }
      out.end();
    } catch (e) {
      out.destroy(e as Error);
    }
  })();
  if (!magicGzip) return out;
  const gunzip = createGunzip();
  out.on('error', (e) => gunzip.destroy(e));
  return out.pipe(gunzip);
}

function safeRel(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new BuildError(400, `build context entry ${JSON.stringify(name)} points outside the context`);
  return parts.join('/');
}

async function drain(s: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of s) {
    /* skip */
  }
}

/**
 * Makes sure every parent of `rel` inside `dir` is a real directory (creating missing ones when
 * `create`): an entry never lands, and a hardlink never points, through a symlink an earlier entry
 * planted (which could lead anywhere on the host).
 */
async function realParents(dir: string, rel: string, entry: string, create = true): Promise<void> {
  let cur = dir;
  for (const part of rel.split('/').slice(0, -1)) {
    cur = join(cur, part);
    let st;
    try {
      st = await lstat(cur);
    } catch {
      if (!create) throw new BuildError(400, `build context entry ${JSON.stringify(entry)} points at a path that is not in the context`);
      await mkdir(cur, { mode: 0o755 });
      continue;
    }
    if (!st.isDirectory()) throw new BuildError(400, `build context entry ${JSON.stringify(entry)} goes through a symlink or a file (${part})`);
  }
}

/** Unpacks the context tar into `dir` (which must exist and be empty). */
export async function unpackContext(input: Readable | NodeJS.ReadableStream, dir: string): Promise<void> {
  let tarStream: Readable;
  try {
    tarStream = await decompressed(input);
  } catch (e) {
    if (e instanceof BuildError) throw e;
    throw new BuildError(400, `reading the build context failed: ${(e as Error).message}`, { cause: e });
  }
  const ex = extract();
  const feed = pipeline(tarStream, ex as unknown as NodeJS.WritableStream);
  feed.catch(() => undefined);
  const dirTimes: { path: string; mtime: Date }[] = [];
  try {
    for await (const entry of ex) {
      const h: Header = entry.header;
      const rel = safeRel(h.name);
      if (rel === '') {
        await drain(entry);
        continue;
      }
      const target = join(dir, rel);
      await realParents(dir, rel, h.name);
      await rm(target, { recursive: h.type !== 'directory', force: true }).catch(() => undefined);
      const mode = (h.mode ?? 0o644) & 0o7777;
      switch (h.type) {
        case 'directory':
          await drain(entry);
          await mkdir(target, { recursive: true });
          await chmod(target, mode);
          dirTimes.push({ path: target, mtime: h.mtime ?? new Date(0) });
          break;
        case 'symlink':
          await drain(entry);
          await symlink(h.linkname ?? '', target);
          break;
        case 'link': {
          await drain(entry);
          const srcRel = safeRel(h.linkname ?? '');
          await realParents(dir, srcRel, h.name, false);
          const src = join(dir, srcRel);
          if (!(await lstat(src)).isFile()) throw new BuildError(400, `build context entry ${JSON.stringify(h.name)} is a hardlink to something that is not a file of the context`);
          await link(src, target);
          break;
        }
        case 'file':
        case 'contiguous-file':
        case null:
        case undefined:
          await pipeline(entry, createWriteStream(target, { mode }));
          await chmod(target, mode);
          await utimes(target, h.mtime ?? new Date(0), h.mtime ?? new Date(0));
          break;
        default:
          await drain(entry); // devices and fifos have no place in a build context
      }
    }
    await feed;
  } catch (e) {
    tarStream.destroy();
    await feed.catch(() => undefined);
    if (e instanceof BuildError) throw e;
    throw new BuildError(400, `the build context is not a valid tar archive: ${(e as Error).message}`, { cause: e });
  }
  for (const d of dirTimes.reverse()) await utimes(d.path, d.mtime, d.mtime).catch(() => undefined);
}

/** Deletes what .dockerignore excludes (keeping parents of re-included paths). */
async function applyIgnore(dir: string, ignore: IgnoreMatcher, keep: Set<string>): Promise<void> {
  if (ignore.empty) return;
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel))) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, child));
      if (st.isDirectory()) {
        if (ignore.matches(child) && !ignore.hasExceptions()) {
          await rm(join(dir, child), { recursive: true, force: true });
          continue;
        }
        await walk(child);
        if (ignore.matches(child) && (await readdir(join(dir, child))).length === 0) await rm(join(dir, child), { recursive: true, force: true });
      } else if (ignore.matches(child) && !keep.has(child)) {
        await rm(join(dir, child), { force: true });
      }
    }
  };
  await walk('');
}

/**
 * Unpacks the context, reads .dockerignore and the Dockerfile (`dockerfile` relative to the context;
 * "Dockerfile", then "dockerfile", by default) and removes what .dockerignore excludes.
 */
export async function openContext(input: Readable | NodeJS.ReadableStream, dir: string, dockerfile: string | undefined): Promise<BuildContext> {
  await mkdir(dir, { recursive: true });
  await unpackContext(input, dir);
  let ignoreText = '';
  try {
    ignoreText = await readFile(join(dir, '.dockerignore'), 'utf8');
  } catch {
    ignoreText = '';
  }
  let ignore: IgnoreMatcher;
  try {
    ignore = IgnoreMatcher.parse(ignoreText);
  } catch (e) {
    throw new BuildError(400, `.dockerignore: ${(e as Error).message}`);
  }
  const wanted = dockerfile === undefined || dockerfile === '' ? undefined : cleanRel(dockerfile);
  const candidates = wanted !== undefined ? [wanted] : ['Dockerfile', 'dockerfile'];
  let name: string | undefined;
  let text: string | undefined;
  for (const c of candidates) {
    if (c === '') continue;
    try {
      const st = await lstat(join(dir, c));
      if (!st.isFile()) continue;
      text = await readFile(join(dir, c), 'utf8');
      name = c;
      break;
    } catch {
      // try the next one
    }
  }
  if (name === undefined || text === undefined) throw new BuildError(400, `Cannot locate specified Dockerfile: ${wanted ?? 'Dockerfile'}`);
  // the Dockerfile and .dockerignore are read even when excluded, but COPY does not see them then
  await applyIgnore(dir, ignore, new Set());
  return { dir, ignore, dockerfile: name, dockerfileText: text };
}
