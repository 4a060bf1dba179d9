import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { openContext } from '../../../worker/engine/build/build-context.js';
import { BuildError } from '../../../worker/engine/build/build-error.js';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; body?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    await new Promise<void>((res, rej) => p.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}), mode: e.type === 'directory' ? 0o755 : 0o644 }, e.body ?? '', (err) => (err ? rej(err) : res())));
  }
  p.finalize();
  const parts: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

async function withDir(fn: (d: string) => Promise<void>): Promise<void> {
  const d = await mkdtemp(join(tmpdir(), 'shoal-ctx-'));
  try {
    await fn(d);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
}

test('a gzip context unpacks, .dockerignore removes what it excludes, and the Dockerfile is read even when excluded', async () => {
  await withDir(async (d) => {
    const tar = await tarOf([
      { name: 'Dockerfile', body: 'FROM busybox\n' },
      { name: '.dockerignore', body: 'Dockerfile\n*.log\n' },
      { name: 'src/', type: 'directory' },
      { name: 'src/app.js', body: 'x' },
      { name: 'debug.log', body: 'y' },
      { name: 'link', type: 'symlink', linkname: 'src/app.js' },
    ]);
    const ctx = await openContext(Readable.from([gzipSync(tar)]), join(d, 'ctx'), undefined);
    assert.equal(ctx.dockerfileText, 'FROM busybox\n');
    assert.equal(await readFile(join(d, 'ctx', 'src', 'app.js'), 'utf8'), 'x');
    assert.equal(await readlink(join(d, 'ctx', 'link')), 'src/app.js');
    assert.ok(!existsSync(join(d, 'ctx', 'debug.log')));
    assert.ok(!existsSync(join(d, 'ctx', 'Dockerfile')), 'an excluded Dockerfile is not visible to COPY');
  });
});

test('entries through a planted symlink, hardlinks through one, and ../ names are refused: nothing lands outside', async () => {
  await withDir(async (d) => {
    const outside = join(d, 'outside');
    const cases: Entry[][] = [
      [{ name: 'evil', type: 'symlink', linkname: outside }, { name: 'evil/pwned', body: 'gotcha' }],
      [{ name: 'evil', type: 'symlink', linkname: d }, { name: 'x', type: 'link', linkname: 'evil/secret' }],
      [{ name: '../escape', body: 'gotcha' }],
    ];
    for (const [i, entries] of cases.entries()) {
      await assert.rejects(openContext(Readable.from([await tarOf(entries)]), join(d, `ctx${i}`), undefined), (e: unknown) => e instanceof BuildError && e.status === 400, `case ${i}`);
    }
    assert.ok(!existsSync(join(outside, 'pwned')));
    assert.ok(!existsSync(join(d, 'escape')));
  });
});

test('a context without a Dockerfile, or with another name asked for, is a clear 400', async () => {
  await withDir(async (d) => {
    const tar = await tarOf([{ name: 'build/App.Dockerfile', body: 'FROM scratch\n' }]);
    await assert.rejects(openContext(Readable.from([tar]), join(d, 'a'), undefined), /Cannot locate specified Dockerfile: Dockerfile/);
    const ctx = await openContext(Readable.from([tar]), join(d, 'b'), 'build/App.Dockerfile');
    assert.equal(ctx.dockerfile, 'build/App.Dockerfile');
    await assert.rejects(openContext(Readable.from([Buffer.from('BZh91AY&SY')]), join(d, 'c'), undefined), /bzip2/);
  });
});
