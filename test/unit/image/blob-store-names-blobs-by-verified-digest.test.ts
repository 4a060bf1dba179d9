import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobStore } from '../../../worker/engine/image/blob-store.js';
import { chainIds, sha256Of } from '../../../worker/engine/image/digest.js';
import { ImageError } from '../../../worker/engine/image/errors.js';

async function withStore(fn: (s: BlobStore, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), `shoal-blob-${process.pid}-`));
  try {
    await fn(await BlobStore.open(root), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('a blob is stored under blobs/sha256/<hex of its content> in an OCI layout', async () => {
  await withStore(async (s, root) => {
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    const data = Buffer.from('hello blob');
    const { digest, size } = await s.putBuffer(data);
    assert.equal(digest, sha256Of(data));
    assert.equal(size, data.length);
    assert.deepEqual(readFileSync(join(root, 'blobs', 'sha256', digest.slice(7))), data);
    const streamed = await s.putStream(Readable.from([Buffer.from('hello '), Buffer.from('stream')]));
    assert.equal(streamed.digest, sha256Of('hello stream'));
    assert.deepEqual(await s.read(streamed.digest), Buffer.from('hello stream'));
    assert.deepEqual((await s.list()).sort(), [digest, streamed.digest].sort());
  });
});

test('a write whose content does not match the expected digest is refused and leaves no file', async () => {
  await withStore(async (s, root) => {
    const wrong = sha256Of('something else');
    await assert.rejects(s.putBuffer(Buffer.from('x'), wrong), (e: unknown) => e instanceof ImageError && e.status === 400 && /digest mismatch/.test(e.message));
    await assert.rejects(s.putStream(Readable.from([Buffer.from('y')]), wrong), (e: unknown) => e instanceof ImageError && /digest mismatch/.test(e.message));
    assert.deepEqual(readdirSync(join(root, 'blobs', 'sha256')), []);
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  });
});

test('a blob corrupted on disk is detected on read; leftovers in tmp/ are removed on open', async () => {
  await withStore(async (s, root) => {
    const { digest } = await s.putBuffer(Buffer.from('{"a":1}'));
    writeFileSync(s.path(digest), '{"a":2}');
    await assert.rejects(s.read(digest), (e: unknown) => e instanceof ImageError && e.status === 500 && /corrupt/.test(e.message));
    writeFileSync(join(root, 'tmp', 'half-written'), 'x');
    await BlobStore.open(root);
    assert.equal(existsSync(join(root, 'tmp', 'half-written')), false);
  });
});

test('chain IDs follow the OCI definition', () => {
  const a = sha256Of('a');
  const b = sha256Of('b');
  assert.deepEqual(chainIds([a, b]), [a, sha256Of(`${a} ${b}`)]);
});
