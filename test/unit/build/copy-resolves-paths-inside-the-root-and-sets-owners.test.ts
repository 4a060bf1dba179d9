import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksumSources, copySources, findSources, resolveChown, resolveInRoot } from '../../../worker/engine/build/fs-copy.js';
import { IgnoreMatcher } from '../../../worker/engine/build/path-match.js';

async function withDirs(fn: (ctx: string, root: string) => Promise<void>): Promise<void> {
  const d = await mkdtemp(join(tmpdir(), 'shoal-copy-'));
  try {
    await mkdir(join(d, 'ctx'));
    await mkdir(join(d, 'root'));
    await fn(join(d, 'ctx'), join(d, 'root'));
  } finally {
    await rm(d, { recursive: true, force: true });
  }
}

test('symlinks resolve inside the root: an absolute link or ../ never leaves it', async () => {
  await withDirs(async (_ctx, root) => {
    await mkdir(join(root, 'real'));
    await symlink('/real', join(root, 'abs'));
    await symlink('../../../../real', join(root, 'up'));
    assert.equal(await resolveInRoot(root, '/abs/x'), join(root, 'real', 'x'));
    assert.equal(await resolveInRoot(root, 'up/x'), join(root, 'real', 'x'));
    assert.equal(await resolveInRoot(root, '/../../etc/passwd'), join(root, 'etc', 'passwd'));
    assert.equal(await resolveInRoot(root, '/abs', false), join(root, 'abs'));
  });
});

test('sources: wildcards match one level, a path outside the context is refused, ignored files are not found', async () => {
  await withDirs(async (ctx) => {
    await mkdir(join(ctx, 'sub'));
    await writeFile(join(ctx, 'a.txt'), 'a');
    await writeFile(join(ctx, 'b.txt'), 'b');
    await writeFile(join(ctx, 'sub', 'c.txt'), 'c');
    await writeFile(join(ctx, 'secret.txt'), 's');
    const ignore = IgnoreMatcher.parse('secret.txt\n');
    assert.deepEqual((await findSources(ctx, ['*.txt'], 'build context', ignore)).map((s) => s.rel), ['a.txt', 'b.txt']);
    await assert.rejects(findSources(ctx, ['../x'], 'build context', ignore), /forbidden path outside the build context: \.\.\/x/);
    await assert.rejects(findSources(ctx, ['secret.txt'], 'build context', ignore), /excluded by \.dockerignore: stat secret\.txt/);
    await assert.rejects(findSources(ctx, ['*.md'], 'build context', ignore), /no source files were specified/);
    const one = await checksumSources(await findSources(ctx, ['sub'], 'build context', ignore));
    await writeFile(join(ctx, 'sub', 'c.txt'), 'changed');
    assert.notEqual(await checksumSources(await findSources(ctx, ['sub'], 'build context', ignore)), one, 'content changes the checksum');
  });
});

test('copy: files into a directory, a directory\'s contents, owners and modes as asked, links kept', async () => {
  await withDirs(async (ctx, root) => {
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1500:1500::/home/app:/bin/sh\n');
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\n');
    await mkdir(join(ctx, 'dir', 'inner'), { recursive: true });
    await writeFile(join(ctx, 'dir', 'inner', 'f'), 'f', { mode: 0o600 });
    await symlink('inner/f', join(ctx, 'dir', 'ln'));
    await writeFile(join(ctx, 'one'), '1', { mode: 0o755 });
    const owner = await resolveChown(root, 'app:staff');
    assert.deepEqual(owner, { uid: 1500, gid: 50 });
    assert.deepEqual(await resolveChown(root, '42'), { uid: 42, gid: 42 });
    await assert.rejects(resolveChown(root, 'nobody-here'), /can't find uid for nobody-here: no such user/);
    await copySources(root, await findSources(ctx, ['dir'], 'build context'), '/opt/app', false, { owner });
    await copySources(root, await findSources(ctx, ['one'], 'build context'), '/opt/app/', true, { owner: { uid: 0, gid: 0 }, chmod: 0o700 });
    await copySources(root, await findSources(ctx, ['one'], 'build context'), '/renamed', false, { owner: { uid: 0, gid: 0 } });
    const f = await lstat(join(root, 'opt', 'app', 'inner', 'f'));
    assert.equal(f.uid, 1500);
    assert.equal(f.gid, 50);
    assert.equal(f.mode & 0o777, 0o600);
    assert.equal(await readlink(join(root, 'opt', 'app', 'ln')), 'inner/f');
    assert.equal((await lstat(join(root, 'opt'))).uid, 1500, 'created parents get the owner');
    assert.equal((await lstat(join(root, 'opt', 'app', 'one'))).mode & 0o777, 0o700);
    assert.equal(await readFile(join(root, 'renamed'), 'utf8'), '1');
  });
});

test('copying through the image\'s own absolute links stays inside the root (chroot semantics, never the host)', async () => {
  await withDirs(async (ctx, root) => {
    const hostDir = join(ctx, '..', 'host-victim');
    await mkdir(hostDir);
    await mkdir(join(root, 'usr', 'lib'), { recursive: true });
    await symlink('/usr/lib', join(root, 'lib'));
    await symlink(hostDir, join(root, 'evil'));
    await mkdir(join(ctx, 'tree', 'lib'), { recursive: true });
    await mkdir(join(ctx, 'tree', 'evil'), { recursive: true });
    await writeFile(join(ctx, 'tree', 'lib', 'libx.so'), 'x');
    await writeFile(join(ctx, 'tree', 'evil', 'pwned'), 'y');
    await copySources(root, await findSources(ctx, ['tree'], 'build context'), '/', true, { owner: { uid: 0, gid: 0 } });
    assert.equal(await readFile(join(root, 'usr', 'lib', 'libx.so'), 'utf8'), 'x', 'the image\'s /lib -> /usr/lib is followed inside the image');
    assert.equal(await readFile(join(root, hostDir, 'pwned'), 'utf8'), 'y', 'an absolute link is resolved under the root');
    assert.ok(!existsSync(join(hostDir, 'pwned')), 'the host directory is untouched');
  });
});
