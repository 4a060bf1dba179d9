/**
 * What ADD does beyond COPY: a local tar archive (plain, gzip, bzip2 or xz) is unpacked into the
 * destination, and a URL is downloaded (with a deadline) into a file named after its last path part.
 */
import { createWriteStream } from 'node:fs';
import { open, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { runTool } from '../image/exec.js';
import { BuildError, messageOf } from './build-error.js';
import type { Source } from './fs-copy.js';

export const ADD_URL_TIMEOUT_MS = 120_000;

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** A tar archive, compressed or not (what ADD unpacks); anything else is copied as a file. */
export async function isArchive(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return true;
  const compressed = (head[0] === 0x1f && head[1] === 0x8b) || head.subarray(0, 3).toString('latin1') === 'BZh' || head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (!compressed) return false;
  try {
    await runTool('tar', ['-tf', file], { timeoutMs: 120_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Unpacks an archive into an empty scratch directory (owners and modes as archived); the caller
 * copies the result into the image, resolving paths inside its root. tar(1) never writes into the
 * image itself, where a link such as /lib -> /usr/lib would lead it to the host's directories.
 */
export async function extractArchive(file: string, dir: string): Promise<void> {
  try {
    await runTool('tar', ['-xf', file, '-C', dir, '--same-owner', '--same-permissions', '--no-overwrite-dir'], { timeoutMs: 600_000 });
  } catch (e) {
    throw new BuildError(400, `unpacking ${posix.basename(file)} failed: ${messageOf(e)}`);
  }
}

/** Downloads `url` into `dir`; the file is named after the URL's last path part. */
export async function addFromUrl(url: string, dir: string): Promise<Source> {
  const u = new URL(url);
  const name = posix.basename(u.pathname) || 'index.html';
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(ADD_URL_TIMEOUT_MS), redirect: 'follow' });
  } catch (e) {
    throw new BuildError(400, `ADD ${url}: ${messageOf(e)}`);
  }
  if (!res.ok || res.body === null) throw new BuildError(400, `ADD ${url}: the server answered ${res.status} ${res.statusText}`);
  const path = join(dir, name);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(path, { mode: 0o600 }));
  const lm = res.headers.get('last-modified');
  if (lm !== null && !Number.isNaN(Date.parse(lm))) await utimes(path, new Date(lm), new Date(lm));
  return { path, rel: name, isDir: false };
}
