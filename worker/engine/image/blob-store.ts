/**
 * Content-addressed blobs in OCI image layout: `<root>/blobs/sha256/<hex>`. Every write goes to
 * `<root>/tmp/` first, is hashed on the way, checked against the expected digest when one is given,
 * fsynced and renamed into place, so a blob file is always complete and named by its content.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { HashingStream, hexOf, isDigest, sha256Of, type Digest } from './digest.js';
import { ImageError, badImageInput } from './errors.js';

export class BlobStore {
  private constructor(readonly root: string) {}

  /** Opens (creating) the layout at root; leftovers of interrupted writes in tmp/ are removed. */
  static async open(root: string): Promise<BlobStore> {
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await rm(join(root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    const layout = join(root, 'oci-layout');
    try {
      await stat(layout);
    } catch {
      await writeFile(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    }
    return new BlobStore(root);
  }

  path(d: Digest): string {
    return join(this.root, 'blobs', 'sha256', hexOf(d));
  }

  /** A fresh path under tmp/ on the same filesystem as the blobs (for rename). */
  tmpPath(tag: string): string {
    return join(this.root, 'tmp', `${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  async has(d: Digest): Promise<boolean> {
    try {
      return (await stat(this.path(d))).isFile();
    } catch {
      return false;
    }
  }

  async size(d: Digest): Promise<number> {
    return (await stat(this.path(d))).size;
  }

  async putBuffer(data: Buffer, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    const digest = sha256Of(data);
    if (expected !== undefined && expected !== digest) throw badImageInput(`blob digest mismatch: expected ${expected}, content is ${digest}`);
    if (await this.has(digest)) return { digest, size: data.length };
    const tmp = this.tmpPath('blob');
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path(digest));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { digest, size: data.length };
  }

  /** Streams into the store; the stream's bytes are the blob. */
  async putStream(input: Readable | NodeJS.ReadableStream, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    const tmp = this.tmpPath('blob');
    try {
      const hasher = new HashingStream();
      await pipeline(input, hasher, createWriteStream(tmp, { mode: 0o644 }));
      return await this.adopt(tmp, hasher.digest(), hasher.bytes, expected);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Moves a file that is already on this filesystem into the store, after hashing it. */
  async putFile(file: string, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return this.adopt(file, `sha256:${hash.digest('hex')}`, size, expected);
  }

  private async adopt(file: string, digest: Digest, size: number, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    if (expected !== undefined && expected !== digest) {
      await rm(file, { force: true });
      throw badImageInput(`blob digest mismatch: expected ${expected}, content is ${digest}`);
    }
    if (await this.has(digest)) {
      await rm(file, { force: true });
      return { digest, size };
    }
    const fh = await open(file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(file, this.path(digest));
    return { digest, size };
  }

  /** Reads a (small) blob whole and checks its digest. */
  async read(d: Digest): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.path(d));
    } catch (e) {
      throw new ImageError(404, `blob ${d} is missing from the store`, { cause: e });
    }
    if (sha256Of(data) !== d) throw new ImageError(500, `blob ${d} is corrupt: its content does not match its digest`);
    return data;
  }

  stream(d: Digest): Readable {
    return createReadStream(this.path(d));
  }

  async remove(d: Digest): Promise<void> {
    await rm(this.path(d), { force: true });
  }

  async list(): Promise<Digest[]> {
    const names = await readdir(join(this.root, 'blobs', 'sha256'));
    return names.map((n) => `sha256:${n}`).filter(isDigest);
  }
}
