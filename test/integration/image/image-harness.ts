/** Shared helpers for the image-store tests: temp roots that always go away, tarballs built in memory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { pack, type Header } from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: Header['type'];
  data?: string | Buffer;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  mtime?: Date;
  pax?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
}

/** A tar archive of the entries, in order. */
export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const type = e.type ?? 'file';
    const header: Partial<Header> & { name: string } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date('2024-01-01T00:00:00Z'),
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax !== undefined) (header as { pax?: unknown }).pax = e.pax;
    await new Promise<void>((resolve, reject) => {
      p.entry({ ...header, size: data.length }, data, (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const streamOf = (b: Buffer): Readable => Readable.from([b]);

export async function collect(s: NodeJS.ReadableStream | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A fresh temp dir for one test, removed afterwards (even when the test fails). */
export async function withTempDir<T>(tag: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `shoal-img-${tag}-${process.pid}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Fails (not skips) when the test needs root. */
export function requireRoot(what: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) throw new Error(`${what} needs root (mknod of whiteouts, trusted.* xattrs, overlay mounts)`);
}

/** Fails with a clear message when a host tool is missing. */
export function requireTool(tool: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`this test needs the host tool ${tool}, which is not installed`);
  }
}

/** What a store root holds besides its bookkeeping files: layer dirs, blobs, temp files. */
export function leftovers(root: string): { layers: string[]; blobs: string[]; tmp: string[] } {
  const ls = (p: string): string[] => (existsSync(p) ? readdirSync(p).sort() : []);
  return { layers: ls(join(root, 'layers')), blobs: ls(join(root, 'blobs', 'sha256')), tmp: ls(join(root, 'tmp')) };
}
