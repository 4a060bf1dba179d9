/**
 * The real docker CLI (v28) against shoald for a container's files: `docker cp` both ways (a file, a
 * directory, stdout as a tar), `docker export` of the root filesystem, `docker rename`, and the errors
 * for a missing path. Needs root, runc/crun, conmon and /usr/local/bin/docker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOCKER, run, ShoaldHarness } from './shoald-harness.js';

describe('docker cp, export and rename on shoald', () => {
  let h: ShoaldHarness;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (mounts, cgroups)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    h = await ShoaldHarness.create();
    await h.start();
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('files go in and out with docker cp, the rootfs with docker export, and a rename keeps the container', async () => {
    const name = `files${process.pid}`;
    const r = await h.docker(['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', 'mkdir -p /out && echo made-inside > /out/a && sleep 60']);
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 50 && (await h.docker(['exec', name, 'test', '-e', '/out/a'])).code !== 0; i++) await new Promise((res) => setTimeout(res, 100));

    // host → container: a file into a directory, then a directory
    const src = join(h.dir, 'cp-src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'b'), 'from-host\n');
    writeFileSync(join(h.dir, 'single'), 'single-file\n');
    assert.equal((await h.docker(['cp', join(h.dir, 'single'), `${name}:/tmp/`])).code, 0);
    assert.equal((await h.docker(['exec', name, 'cat', '/tmp/single'])).stdout, 'single-file\n');
    const cpDir = await h.docker(['cp', src, `${name}:/in`]);
    assert.equal(cpDir.code, 0, cpDir.stderr);
    assert.equal((await h.docker(['exec', name, 'cat', '/in/sub/b'])).stdout, 'from-host\n');

    // container → host: a file, a directory, and a tar on stdout
    const dst = join(h.dir, 'cp-dst');
    mkdirSync(dst);
    assert.equal((await h.docker(['cp', `${name}:/out/a`, join(dst, 'a')])).code, 0);
    assert.equal(readFileSync(join(dst, 'a'), 'utf8'), 'made-inside\n');
    assert.equal((await h.docker(['cp', `${name}:/out`, join(dst, 'outdir')])).code, 0);
    assert.equal(readFileSync(join(dst, 'outdir', 'a'), 'utf8'), 'made-inside\n');
    const tarOut = await h.docker(['cp', `${name}:/out/a`, '-']);
    assert.equal(tarOut.code, 0, tarOut.stderr);
    assert.ok(tarOut.stdout.includes('made-inside'), 'the tar on stdout holds the file');

    const missing = await h.docker(['cp', `${name}:/no/such/path`, dst]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no\/such\/path/);

    // export: the whole root filesystem, with what the container wrote
    const exported = join(h.dir, 'export.tar');
    const ex = await h.docker(['export', '-o', exported, name]);
    assert.equal(ex.code, 0, ex.stderr);
    const list = await run('tar', ['-t', '-f', exported]);
    const names = list.stdout.split('\n');
    assert.ok(names.includes('./bin/busybox') && names.includes('./out/a') && names.includes('./in/sub/b'), list.stdout.slice(0, 300));

    // rename: the container answers to the new name only
    const renamed = `${name}-renamed`;
    assert.equal((await h.docker(['rename', name, renamed])).code, 0);
    assert.equal((await h.docker(['inspect', '--format', '{{.Name}}', renamed])).stdout.trim(), `/${renamed}`);
    assert.notEqual((await h.docker(['inspect', name])).code, 0);
    assert.equal((await h.docker(['rm', '-f', renamed])).code, 0);
  });
});
