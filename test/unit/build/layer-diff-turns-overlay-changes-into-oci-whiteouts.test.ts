/** Needs root: it makes overlay whiteouts (mknod c 0 0) and trusted.* xattrs, as the kernel does in an upper dir. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { diffUpper } from '../../../worker/engine/build/layer-diff.js';
import { unpackLayer } from '../../../worker/engine/image/layer-unpack.js';

async function entries(file: string): Promise<string[]> {
  const ex = extract();
  createReadStream(file).pipe(ex);
  const out: string[] = [];
  for await (const e of ex) {
    const h = e.header;
    out.push(`${h.type} ${h.name}${h.type === 'symlink' || h.type === 'link' ? ` -> ${h.linkname}` : ''} ${(h.mode ?? 0).toString(8)} ${h.uid}:${h.gid}`);
    for await (const _ of e) void _;
  }
  return out;
}

test('an upper dir becomes a layer tar with OCI whiteouts, opaque markers and hardlinks, and unpacks back to the same overlay form', async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (mknod and trusted.* xattrs)');
  const dir = await mkdtemp(join(tmpdir(), 'shoal-diff-'));
  try {
    const upper = join(dir, 'upper');
    await mkdir(join(upper, 'etc'), { recursive: true, mode: 0o755 });
    await writeFile(join(upper, 'etc', 'conf'), 'value\n', { mode: 0o640 });
    execFileSync('chown', ['1000:50', join(upper, 'etc', 'conf')]);
    execFileSync('mknod', [join(upper, 'etc', 'gone'), 'c', '0', '0']);
    await mkdir(join(upper, 'var', 'cache'), { recursive: true });
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(upper, 'var', 'cache')]);
    await writeFile(join(upper, 'var', 'cache', 'fresh'), 'new\n');
    await writeFile(join(upper, 'a'), 'shared\n');
    await link(join(upper, 'a'), join(upper, 'b'));
    await symlink('/etc/conf', join(upper, 'ln'));
    await mkdir(join(upper, 'proc'));
    await writeFile(join(upper, 'etc', 'hosts'), '');
    const d = await diffUpper(upper, join(dir, 'layer.tar'), new Set(['proc', 'etc/hosts']));
    assert.match(d.diffId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(d.entries, 9, 'nine changed paths (proc and etc/hosts left out)');
    assert.deepEqual(await entries(d.file), [
      'file a 644 0:0',
      'link b -> a 644 0:0',
      'directory etc 755 0:0',
      'file etc/conf 640 1000:50',
      'file etc/.wh.gone 644 0:0',
      'symlink ln -> /etc/conf 777 0:0',
      'directory var 755 0:0',
      'directory var/cache 755 0:0',
      'file var/cache/.wh..wh..opq 644 0:0',
      'file var/cache/fresh 644 0:0',
    ]);
    const back = join(dir, 'back');
    await mkdir(back);
    const r = await unpackLayer(d.file, back);
    assert.equal(r.diffId, d.diffId, 'the unpacker hashes the same tar');
    const gone = await lstat(join(back, 'etc', 'gone'));
    assert.ok(gone.isCharacterDevice() && gone.rdev === 0, 'the whiteout is an overlay whiteout again');
    assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(back, 'var', 'cache')]).toString(), 'y');
    assert.equal(await readFile(join(back, 'b'), 'utf8'), 'shared\n');
    assert.equal((await lstat(join(back, 'a'))).ino, (await lstat(join(back, 'b'))).ino);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
