/**
 * Unpacks one layer tarball (plain or gzip) into a directory that overlayfs can use as a lower dir:
 * regular files, dirs, symlinks, hardlinks, devices and fifos with their modes, owners, mtimes and
 * xattrs; OCI whiteouts become overlay whiteouts (`.wh.NAME` → char device 0/0, `.wh..wh..opq` →
 * `trusted.overlay.opaque=y`). Entries that would land outside the directory are refused.
 * Returns the DiffID (sha256 of the uncompressed tar) so the caller can check it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { HashingStream, type Digest } from './digest.js';
import { ImageError, badImageInput, messageOf } from './errors.js';
import { runTool } from './exec.js';

export interface UnpackResult {
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  diffSize: number;
  /** Sum of regular file sizes (what Docker reports as a layer's size). */
  size: number;
}

export type Compression = 'none' | 'gzip';

/** Looks at a blob's first bytes: gzip, plain tar, or something we cannot read. */
export async function detectCompression(file: string): Promise<Compression> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && buf.readUInt32LE(0) === 0xfd2fb528) throw badImageInput('zstd-compressed layers are not supported');
    return 'none';
  } finally {
    await fh.close();
  }
}

/** A stream of the uncompressed tar inside a layer blob file. */
export async function openLayerTar(file: string): Promise<Readable> {
  const c = await detectCompression(file);
  const raw = createReadStream(file);
  return c === 'gzip' ? raw.pipe(createGunzip()) : raw;
}

type PaxHeaders = Header;

function paxOf(h: Header): Record<string, string> {
  const p = h.pax;
  if (typeof p !== 'object' || p === null) return {};
  return Object.fromEntries(Object.entries(p).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Splits a tar entry name into safe components, refusing absolute escapes and "..". */
export function safeParts(name: string): string[] {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw badImageInput(`layer entry ${JSON.stringify(name)} points outside the layer (path traversal refused)`);
  if (parts.some((p) => p.includes('\0'))) throw badImageInput(`layer entry ${JSON.stringify(name)} has a NUL byte`);
  return parts;
}

class Unpacker {
  private readonly dirTimes: { path: string; mtime: Date }[] = [];
  size = 0;
  constructor(private readonly root: string) {}

  /** Makes sure every parent of parts exists as a real directory inside root (never through a symlink). */
  private async parentOf(parts: string[], entryName: string): Promise<string> {
    let cur = this.root;
    for (const p of parts.slice(0, -1)) {
      cur = join(cur, p);
      let st;
      try {
        st = await lstat(cur);
      } catch {
        await mkdir(cur, { mode: 0o755 });
        continue;
      }
      if (st.isSymbolicLink()) throw badImageInput(`layer entry ${JSON.stringify(entryName)} goes through a symlink (${p}); refused as path traversal`);
      if (!st.isDirectory()) throw badImageInput(`layer entry ${JSON.stringify(entryName)} needs ${p} to be a directory`);
    }
    return cur;
  }

  private async clear(target: string, keepDir: boolean): Promise<void> {
    try {
      const st = await lstat(target);
      if (keepDir && st.isDirectory()) return;
      await rm(target, { recursive: true, force: true });
    } catch {
      /* nothing there */
    }
  }

  async entry(h: PaxHeaders, body: AsyncIterable<Buffer>): Promise<void> {
    const parts = safeParts(h.name);
    if (parts.length === 0) {
      // The layer root itself: only its metadata matters.
      await drain(body);
      if (h.type === 'directory') await this.meta(this.root, h, true);
      return;
    }
    const parent = await this.parentOf(parts, h.name);
    const base = parts[parts.length - 1]!;
    if (base.startsWith('.wh.')) {
      await drain(body);
      if (base === '.wh..wh..opq') {
        await runTool('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', parent]);
      } else if (!base.startsWith('.wh..wh.')) {
        const hidden = join(parent, base.slice(4));
        await this.clear(hidden, false);
        await runTool('mknod', ['-m', '0', hidden, 'c', '0', '0']);
      }
      return;
    }
    const target = join(parent, base);
    switch (h.type) {
      case 'file':
      case 'contiguous-file':
      case null:
      case undefined: {
        await this.clear(target, false);
        await pipeline(body, createWriteStream(target, { mode: 0o600 }));
        this.size += h.size ?? 0;
        break;
      }
      case 'directory':
        await drain(body);
        await this.clear(target, true);
        await mkdir(target, { recursive: true, mode: 0o755 });
        break;
      case 'symlink':
        await drain(body);
        await this.clear(target, false);
        await symlink(h.linkname ?? '', target);
        break;
      case 'link': {
        await drain(body);
        const srcParts = safeParts(h.linkname ?? '');
        if (srcParts.length === 0) throw badImageInput(`hardlink ${h.name} has no target`);
        await this.parentOf(srcParts, h.linkname ?? '');
        const src = join(this.root, ...srcParts);
        await this.clear(target, false);
        try {
          await link(src, target);
        } catch (e) {
          throw badImageInput(`hardlink ${h.name} → ${h.linkname ?? ''}: the target is not in this layer (${messageOf(e)})`);
        }
        return; // a hardlink shares its target's metadata
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        await drain(body);
        await this.clear(target, false);
        const kind = h.type === 'fifo' ? ['p'] : [h.type === 'block-device' ? 'b' : 'c', String(h.devmajor ?? 0), String(h.devminor ?? 0)];
        await runTool('mknod', [target, ...kind]);
        break;
      }
      default:
        await drain(body);
        return; // pax/gnu headers are consumed by the parser; anything else is skipped
    }
    await this.meta(target, h, h.type === 'directory');
  }

  private async meta(target: string, h: PaxHeaders, isDir: boolean): Promise<void> {
    await lchown(target, h.uid ?? 0, h.gid ?? 0);
    if (h.type !== 'symlink') await chmod(target, (h.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777);
    for (const [k, v] of Object.entries(paxOf(h))) {
      if (!k.startsWith('SCHILY.xattr.')) continue;
      const name = k.slice('SCHILY.xattr.'.length);
      // overlayfs reads its own trusted.overlay.* attributes from lower dirs: an image must not set them.
      if (name.startsWith('trusted.overlay.')) continue;
      // tar-stream decodes pax values as UTF-8; a binary value (e.g. security.capability) arrives
      // damaged, and writing it would be worse than leaving it out.
      if (v.includes('\uFFFD')) continue;
      await runTool('setfattr', ['-h', '-n', name, '-v', `0s${Buffer.from(v, 'utf8').toString('base64')}`, target]);
    }
    const mtime = h.mtime ?? new Date(0);
    if (isDir) this.dirTimes.push({ path: target, mtime });
    else await lutimes(target, mtime, mtime);
  }

  /** Directory mtimes last, deepest first, since creating children changes them. */
  async finish(): Promise<void> {
    for (const d of this.dirTimes.reverse()) await lutimes(d.path, d.mtime, d.mtime);
  }
}

async function drain(s: AsyncIterable<Buffer>): Promise<void> {
  for await (const _ of s) {
    /* skip the body */
  }
}

/** Unpacks the layer blob at `file` into `dir` (which must exist and be empty). */
export async function unpackLayer(file: string, dir: string): Promise<UnpackResult> {
  const tarStream = await openLayerTar(file);
  const hasher = new HashingStream();
  const ex = extract();
  const feed = pipeline(tarStream, hasher, ex as unknown as NodeJS.WritableStream);
  feed.catch(() => undefined);
  const u = new Unpacker(dir);
  try {
    for await (const entry of ex) await u.entry(entry.header, entry as AsyncIterable<Buffer>);
    await feed;
    await u.finish();
  } catch (e) {
    tarStream.destroy();
    await feed.catch(() => undefined);
    if (e instanceof ImageError) throw e;
    throw badImageInput(`cannot unpack layer: ${messageOf(e)}`, e);
  }
  return { diffId: hasher.digest(), diffSize: hasher.bytes, size: u.size };
}
