/**
 * An overlay upper directory as an OCI layer tar: what a RUN, COPY or WORKDIR step changed. Overlay
 * whiteouts become OCI ones (a 0/0 character device → `.wh.NAME`, a `trusted.overlay.opaque=y`
 * directory → `.wh..wh..opq` inside it); hardlinks within the layer stay hardlinks; entries come in a
 * stable order (parents first, names sorted). Paths in `exclude` (the runtime's mount points that the
 * step's container created, such as /etc/hosts or /proc) are left out with everything under them.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Stats } from 'node:fs';
import { pack, type Pack } from 'tar-stream';
import { HashingStream, type Digest } from '../image/digest.js';
import { runTool } from '../image/exec.js';

export interface LayerDiff {
  /** the uncompressed tar */
  file: string;
  diffId: Digest;
  /** bytes of the tar */
  size: number;
  /** how many entries it has (0: the step changed nothing) */
  entries: number;
}

/** Directories of `upper` marked opaque (relative paths), read with one getfattr walk. */
export async function opaqueDirs(upper: string): Promise<Set<string>> {
  const { stdout } = await runTool('getfattr', ['-R', '-P', '-h', '--absolute-names', '-d', '-m', '^trusted\\.overlay\\.opaque$', upper], { timeoutMs: 120_000 });
  const out = new Set<string>();
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice('# file: '.length).replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    else if (current !== undefined && /^trusted\.overlay\.opaque="y"$/.test(line.trim())) {
      const rel = current === upper ? '' : current.startsWith(`${upper}/`) ? current.slice(upper.length + 1) : undefined;
      if (rel !== undefined) out.add(rel);
    }
  }
  return out;
}

function addEntry(p: Pack, header: Parameters<Pack['entry']>[0], body?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (body === undefined) {
      // an entry without a body is complete at once (a file's sink would wait for its data)
      p.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      return;
    }
    const sink = p.entry(header, (err) => (err ? reject(err) : resolve()));
    pipeline(body, sink).catch(reject);
  });
}

function base(rel: string, st: Stats): { name: string; mode: number; uid: number; gid: number; mtime: Date } {
  return { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
}

/** Writes the tar of `upper` to `file`. */
export async function diffUpper(upper: string, file: string, exclude: ReadonlySet<string> = new Set()): Promise<LayerDiff> {
  const opaque = await opaqueDirs(upper);
  const p = pack();
  const hasher = new HashingStream();
  const written = pipeline(p, hasher, createWriteStream(file, { mode: 0o600 }));
  written.catch(() => undefined);
  const links = new Map<string, string>();
  let entries = 0;
  const walk = async (rel: string): Promise<void> => {
    const dir = rel === '' ? upper : join(upper, rel);
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (exclude.has(child)) continue;
      const full = join(upper, child);
      const st = await lstat(full);
      entries++;
      if (st.isCharacterDevice() && st.rdev === 0) {
        const wh = rel === '' ? `.wh.${name}` : `${rel}/.wh.${name}`;
        await addEntry(p, { name: wh, type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: st.mtime });
      } else if (st.isDirectory()) {
        await addEntry(p, { ...base(child, st), type: 'directory' });
        if (opaque.has(child)) await addEntry(p, { name: `${child}/.wh..wh..opq`, type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: st.mtime });
        await walk(child);
      } else if (st.isSymbolicLink()) {
        await addEntry(p, { ...base(child, st), type: 'symlink', linkname: await readlink(full) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await addEntry(p, { ...base(child, st), type: 'link', linkname: first, size: 0 });
        } else {
          if (st.nlink > 1) links.set(key, child);
          await addEntry(p, { ...base(child, st), type: 'file', size: st.size }, createReadStream(full));
        }
      } else if (st.isFIFO()) {
        await addEntry(p, { ...base(child, st), type: 'fifo' });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const major = Math.floor(st.rdev / 256) & 0xfff;
        const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
        await addEntry(p, { ...base(child, st), type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
      } else {
        entries--; // sockets do not belong in a layer
      }
    }
  };
  try {
    await walk('');
    p.finalize();
    await written;
  } catch (e) {
    p.destroy();
    await written.catch(() => undefined);
    await rm(file, { force: true });
    throw e;
  }
  return { file, diffId: hasher.digest(), size: hasher.bytes, entries };
}
