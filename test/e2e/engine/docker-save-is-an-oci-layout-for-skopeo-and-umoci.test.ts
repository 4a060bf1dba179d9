/**
 * `docker save` through the real docker CLI (v28) against shoald: piped straight into `docker load` it
 * keeps the image ID and the manifest digest; unpacked, the same archive is an OCI image layout that
 * skopeo (Debian) reads and umoci unpacks into a runnable bundle. Needs root, skopeo, umoci and
 * /usr/local/bin/docker.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOCKER, rawRequest, run, ShoaldHarness } from './shoald-harness.js';

function requireTool(name: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) throw new Error(`this test needs ${name} (Debian package ${name}; deploy/setup-host.sh installs it)`);
}

/** `docker <left> | docker <right>` as a real pipe (each side against its own daemon); exit codes and output. */
function dockerPipe(leftEnv: NodeJS.ProcessEnv, left: string[], rightEnv: NodeJS.ProcessEnv, right: string[]): Promise<{ left: number | null; right: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const a = spawn(DOCKER, left, { env: { ...process.env, ...leftEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    const b = spawn(DOCKER, right, { env: { ...process.env, ...rightEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    a.stdout.pipe(b.stdin);
    let out = '';
    let err = '';
    a.stderr.on('data', (c: Buffer) => (err += c.toString()));
    b.stdout.on('data', (c: Buffer) => (out += c.toString()));
    b.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
      reject(new Error(`docker ${left.join(' ')} | docker ${right.join(' ')} did not finish within 60 s: ${err}`));
    }, 60_000);
    let leftCode: number | null = null;
    a.on('close', (c) => (leftCode = c));
    b.on('close', (c) => {
      clearTimeout(timer);
      resolve({ left: leftCode, right: c, out, err });
    });
  });
}

describe('docker save from shoald', () => {
  let h: ShoaldHarness;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (mounts, cgroups)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    requireTool('skopeo');
    requireTool('umoci');
    h = await ShoaldHarness.create();
    await h.start();
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  const manifestDigest = async (on: ShoaldHarness, ref: string): Promise<string> => {
    const r = await rawRequest(on.socket, 'GET', `/v1.45/images/${encodeURIComponent(ref)}/json`);
    assert.equal(r.status, 200, r.body);
    return String((JSON.parse(r.body) as { Descriptor?: { digest?: string } }).Descriptor?.digest ?? '');
  };

  test('docker save | docker load into a second shoald keeps the image ID and the manifest digest', async () => {
    // an image only the first daemon has: a rootfs imported with a command
    const ref = `e2e/piped${process.pid}:1`;
    const rootfs = join(h.dir, 'piped-rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'piped'), `made by ${process.pid}\n`);
    const tar = await run('tar', ['-c', '-f', join(h.dir, 'piped-rootfs.tar'), '-C', rootfs, '.']);
    assert.equal(tar.code, 0, tar.stderr);
    const imp = await h.docker(['import', '--change', 'CMD ["/bin/sh"]', join(h.dir, 'piped-rootfs.tar'), ref]);
    assert.equal(imp.code, 0, imp.stderr);
    const id = (await h.docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();
    const digest = await manifestDigest(h, ref);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/, 'the engine reports the manifest digest (Descriptor)');

    const h2 = await ShoaldHarness.create();
    try {
      await h2.start();
      assert.notEqual((await h2.docker(['image', 'inspect', ref])).code, 0, 'the second daemon does not have it yet');
      const p = await dockerPipe(h.env, ['save', ref], h2.env, ['load']);
      assert.equal(p.left, 0, p.err);
      assert.equal(p.right, 0, p.err);
      assert.match(p.out, new RegExp(`Loaded image: ${ref}`));
      assert.equal((await h2.docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), id, 'same image ID');
      assert.equal(await manifestDigest(h2, ref), digest, 'same manifest digest');
      assert.equal((await h2.docker(['image', 'inspect', '--format', '{{json .Config.Cmd}}', ref])).stdout.trim(), '["/bin/sh"]');
      const c = await h2.docker(['create', '--network', 'none', ref]);
      assert.equal(c.code, 0, c.stderr);
      const out = join(h.dir, 'piped-copy');
      const cp = await h2.docker(['cp', `${c.stdout.trim()}:/etc/piped`, out]);
      assert.equal(cp.code, 0, cp.stderr);
      assert.equal(readFileSync(out, 'utf8'), `made by ${process.pid}\n`, 'the layer came along');
      assert.equal((await h2.docker(['rm', c.stdout.trim()])).code, 0);
    } finally {
      const left = await h2.cleanup();
      assert.deepEqual(left, [], `leftovers of the second daemon: ${left.join(', ')}`);
    }
    assert.equal((await h.docker(['rmi', ref])).code, 0);
  });

  test('the saved archive is an OCI layout: skopeo reads it with the same digests, umoci unpacks a runnable bundle', async () => {
    const file = join(h.dir, 'layout.tar');
    assert.equal((await h.docker(['save', '-o', file, 'busybox'])).code, 0);
    const layout = join(h.dir, 'layout');
    mkdirSync(layout);
    const x = await run('tar', ['-x', '-f', file, '-C', layout]);
    assert.equal(x.code, 0, x.stderr);
    assert.ok(existsSync(join(layout, 'oci-layout')) && existsSync(join(layout, 'index.json')) && existsSync(join(layout, 'manifest.json')));

    const id = (await h.docker(['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
    const digest = await manifestDigest(h, 'busybox');
    const info = await run('skopeo', ['inspect', `oci:${layout}:latest`]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { Digest: string }).Digest, digest, 'skopeo sees the manifest digest the engine has');
    const raw = await run('skopeo', ['inspect', '--raw', `oci:${layout}:latest`]);
    assert.equal((JSON.parse(raw.stdout) as { config: { digest: string } }).config.digest, id, 'and the image ID as the config digest');
    // skopeo's docker-archive reader takes the very same file
    const da = await run('skopeo', ['inspect', '--raw', `docker-archive:${file}`]);
    assert.equal(da.code, 0, da.stderr);
    assert.equal((JSON.parse(da.stdout) as { config: { digest: string } }).config.digest, id);

    const bundle = join(h.dir, 'bundle');
    const u = await run('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
    assert.equal(u.code, 0, u.stderr);
    assert.ok(existsSync(join(bundle, 'config.json')), 'umoci wrote an OCI runtime config');
    assert.ok(existsSync(join(bundle, 'rootfs', 'bin', 'busybox')), 'and the rootfs with busybox');
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[] } };
    assert.ok(spec.process.args.length > 0, 'the image config became the process');
  });
});
