/**
 * The real docker CLI (v28) against shoald and a real registry (Debian's docker-registry on 127.0.0.1):
 * tag + push, rmi, pull back with the same digest and image ID, a container runs from the pulled image;
 * a multi-platform index pulls the linux/amd64 entry (and --platform linux/arm64 the other); skopeo reads
 * what shoal pushed and shoal pulls what skopeo pushed (converted to Docker schema 2); an htpasswd
 * registry: wrong password → the registry's message, login, push and pull with credentials; an
 * unreachable registry and a missing tag → clear errors and no partial image.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOCKER, run, ShoaldHarness } from '../engine/shoald-harness.js';
import { freePort, startRegistry, type RegistryFixture } from '../../integration/registry/registry-fixture.js';
import { sha256Of } from '../../../worker/engine/image/digest.js';

const SKOPEO = '/usr/bin/skopeo';

async function manifestDigest(host: string, repo: string, ref: string): Promise<string> {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${ref}`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json' },
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(r.status, 200, `HEAD manifest ${repo}:${ref}`);
  return r.headers.get('docker-content-digest') ?? '';
}

/** Puts a blob into a registry with one monolithic POST + PUT (test-side, to build an index by hand). */
async function putBlob(host: string, repo: string, data: Buffer): Promise<string> {
  const d = sha256Of(data);
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  assert.equal(start.status, 202);
  const loc = new URL(start.headers.get('location')!, `http://${host}`);
  loc.searchParams.set('digest', d);
  const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' }, signal: AbortSignal.timeout(10_000) });
  assert.equal(put.status, 201, await put.text());
  return d;
}

async function getJson(host: string, path: string, accept: string): Promise<{ body: Record<string, unknown>; bytes: Buffer }> {
  const r = await fetch(`http://${host}${path}`, { headers: { Accept: accept }, signal: AbortSignal.timeout(10_000) });
  assert.equal(r.status, 200, path);
  const bytes = Buffer.from(await r.arrayBuffer());
  return { body: JSON.parse(bytes.toString()) as Record<string, unknown>, bytes };
}

describe('docker push and pull through a real registry', () => {
  let h: ShoaldHarness;
  let reg: RegistryFixture;
  let busyboxId = '';
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (mounts, namespaces)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    if (!existsSync(SKOPEO)) throw new Error(`this test needs skopeo at ${SKOPEO}`);
    h = await ShoaldHarness.create();
    await h.start();
    reg = await startRegistry();
    busyboxId = (await h.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    assert.match(busyboxId, /^sha256:[0-9a-f]{64}$/);
  });
  after(async () => {
    await reg?.close();
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('docker tag + push, rmi, pull back gives the same digest and image ID, and it runs', async () => {
    const ref = `${reg.host}/shoal/bb:1`;
    assert.equal((await h.docker(['tag', 'busybox', ref])).code, 0);
    const push = await h.docker(['push', ref], { timeoutMs: 120_000 });
    assert.equal(push.code, 0, push.stderr + push.stdout);
    const m = /1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(push.stdout);
    assert.ok(m, `push output ends with the tag's digest line:\n${push.stdout}`);
    assert.match(push.stdout, /The push refers to repository \[127\.0\.0\.1:\d+\/shoal\/bb\]/);
    assert.match(push.stdout, /[0-9a-f]{12}: Pushed/);
    assert.equal(await manifestDigest(reg.host, 'shoal/bb', '1'), m[1], 'the registry serves the manifest under the digest push printed');
    // a second push finds every layer there
    const again = await h.docker(['push', ref], { timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Layer already exists/);

    assert.equal((await h.docker(['rmi', ref, 'busybox'])).code, 0);
    assert.notEqual((await h.docker(['image', 'inspect', busyboxId])).code, 0, 'the image is gone before the pull');
    const pull = await h.docker(['pull', ref], { timeoutMs: 120_000 });
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, new RegExp(`Digest: ${m[1]}`));
    assert.match(pull.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:\d+\/shoal\/bb:1/);
    assert.match(pull.stdout, /[0-9a-f]{12}: Pull complete/);
    const inspect = await h.docker(['image', 'inspect', '-f', '{{.Id}} {{json .RepoDigests}}', ref]);
    assert.equal(inspect.stdout.trim(), `${busyboxId} ${JSON.stringify([`${reg.host}/shoal/bb@${m[1]}`])}`);
    const runOut = await h.docker(['run', '--rm', ref, 'echo', 'pulled-ok']);
    assert.equal(runOut.stdout, 'pulled-ok\n', runOut.stderr);
    const up = await h.docker(['pull', ref], { timeoutMs: 60_000 });
    assert.match(up.stdout, /Status: Image is up to date/);
    assert.equal((await h.docker(['tag', ref, 'busybox'])).code, 0);
  });

  test('a multi-platform index pulls the linux/amd64 entry by default and linux/arm64 on request', async () => {
    const ref = `${reg.host}/shoal/multi`;
    assert.equal((await h.docker(['tag', 'busybox', `${ref}:amd`])).code, 0);
    assert.equal((await h.docker(['push', `${ref}:amd`], { timeoutMs: 120_000 })).code, 0);
    const amd = await getJson(reg.host, '/v2/shoal/multi/manifests/amd', 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json');
    const cfgDesc = amd.body['config'] as { digest: string; mediaType: string };
    const cfg = await getJson(reg.host, `/v2/shoal/multi/blobs/${cfgDesc.digest}`, '*/*');
    const armCfg = Buffer.from(JSON.stringify({ ...cfg.body, architecture: 'arm64', variant: 'v8' }));
    const armCfgDigest = await putBlob(reg.host, 'shoal/multi', armCfg);
    const armManifest = Buffer.from(JSON.stringify({ ...amd.body, config: { ...cfgDesc, digest: armCfgDigest, size: armCfg.length } }));
    const mediaType = (amd.body['mediaType'] as string | undefined) ?? 'application/vnd.oci.image.manifest.v1+json';
    const putArm = await fetch(`http://${reg.host}/v2/shoal/multi/manifests/arm`, { method: 'PUT', body: armManifest, headers: { 'Content-Type': mediaType }, signal: AbortSignal.timeout(10_000) });
    assert.equal(putArm.status, 201, await putArm.text());
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType, digest: sha256Of(armManifest), size: armManifest.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
          { mediaType, digest: sha256Of(amd.bytes), size: amd.bytes.length, platform: { architecture: 'amd64', os: 'linux' } },
        ],
      }),
    );
    const putIdx = await fetch(`http://${reg.host}/v2/shoal/multi/manifests/both`, { method: 'PUT', body: index, headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }, signal: AbortSignal.timeout(10_000) });
    assert.equal(putIdx.status, 201, await putIdx.text());

    const pull = await h.docker(['pull', `${ref}:both`], { timeoutMs: 60_000 });
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, new RegExp(`Digest: ${sha256Of(index)}`), 'as Docker: the digest printed is the index the tag names');
    assert.equal((await h.docker(['image', 'inspect', '-f', '{{.Id}}', `${ref}:both`])).stdout.trim(), busyboxId, 'the amd64 entry was pulled');
    const digests = (await h.docker(['image', 'inspect', '-f', '{{json .RepoDigests}}', `${ref}:both`])).stdout;
    assert.ok(digests.includes(`${ref}@${sha256Of(index)}`), `the index digest is a repo digest (as Docker records it): ${digests}`);
    // pinned to the index digest with a tag (what swarm puts in a task): resolves, and runs
    const pinned = `${ref}:both@${sha256Of(index)}`;
    const runPinned = await h.docker(['run', '--rm', pinned, 'echo', 'pinned-ok']);
    assert.equal(runPinned.stdout, 'pinned-ok\n', runPinned.stderr);
    const arm = await h.docker(['pull', '--platform', 'linux/arm64', `${ref}:both`], { timeoutMs: 60_000 });
    assert.equal(arm.code, 0, arm.stderr + arm.stdout);
    const armInspect = await h.docker(['image', 'inspect', '-f', '{{.Id}} {{.Architecture}}', `${ref}:both`]);
    assert.equal(armInspect.stdout.trim(), `${armCfgDigest} arm64`);
    const none = await h.docker(['pull', '--platform', 'linux/s390x', `${ref}:both`], { timeoutMs: 60_000 });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no matching manifest for linux\/s390x/);
    assert.equal((await h.docker(['rmi', `${ref}:both`, `${ref}:amd`])).code, 0);
  });

  test('skopeo copies an image shoal pushed, and shoal pulls one skopeo pushed as Docker schema 2', async () => {
    const work = await mkdtemp(join(tmpdir(), 'shoal-skopeo-'));
    try {
      const ref = `${reg.host}/shoal/forskopeo:1`;
      assert.equal((await h.docker(['tag', 'busybox', ref])).code, 0);
      assert.equal((await h.docker(['push', ref], { timeoutMs: 120_000 })).code, 0);
      const toOci = await run(SKOPEO, ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(work, 'oci')}:x`], { timeoutMs: 120_000 });
      assert.equal(toOci.code, 0, toOci.stderr);
      const idx = JSON.parse(await readFile(join(work, 'oci', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(idx.manifests[0]!.digest, await manifestDigest(reg.host, 'shoal/forskopeo', '1'), 'skopeo kept the manifest shoal pushed, byte for byte');
      const back = await run(SKOPEO, ['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${join(work, 'oci')}:x`, `docker://${reg.host}/skopeo/pushed:2`], { timeoutMs: 120_000 });
      assert.equal(back.code, 0, back.stderr);
      const s2 = await getJson(reg.host, '/v2/skopeo/pushed/manifests/2', 'application/vnd.docker.distribution.manifest.v2+json');
      assert.equal(s2.body['mediaType'], 'application/vnd.docker.distribution.manifest.v2+json');
      const pull = await h.docker(['pull', `${reg.host}/skopeo/pushed:2`], { timeoutMs: 120_000 });
      assert.equal(pull.code, 0, pull.stderr + pull.stdout);
      const runOut = await h.docker(['run', '--rm', `${reg.host}/skopeo/pushed:2`, 'echo', 'from-skopeo']);
      assert.equal(runOut.stdout, 'from-skopeo\n', runOut.stderr);
      assert.equal((await h.docker(['rmi', `${reg.host}/skopeo/pushed:2`, ref])).code, 0);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  test('an unreachable registry and a missing tag give clear errors and leave no image', async () => {
    const before = (await h.docker(['images', '-q', '--no-trunc'])).stdout;
    const dead = await freePort();
    const r1 = await h.docker(['pull', `127.0.0.1:${dead}/x/y:1`], { timeoutMs: 60_000 });
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, new RegExp(`registry http://127\\.0\\.0\\.1:${dead} did not answer .*ECONNREFUSED`));
    const r2 = await h.docker(['pull', `${reg.host}/shoal/bb:no-such-tag`], { timeoutMs: 60_000 });
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /manifest for shoal\/bb:no-such-tag not found: manifest unknown/);
    const r3 = await h.docker(['push', `${reg.host}/never/tagged:1`], { timeoutMs: 60_000 });
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /An image does not exist locally with the tag: 127\.0\.0\.1:\d+\/never\/tagged/);
    assert.equal((await h.docker(['images', '-q', '--no-trunc'])).stdout, before);
  });
});

describe('docker login, push and pull against a registry with htpasswd auth', () => {
  let h: ShoaldHarness;
  let reg: RegistryFixture;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (mounts, namespaces)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    h = await ShoaldHarness.create();
    await h.start();
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  after(async () => {
    await reg?.close();
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('wrong password fails with the registry message; login succeeds; push and pull with the credentials', async () => {
    const user = reg.user!;
    const cfgDir = h.env['DOCKER_CONFIG']!;
    await mkdir(cfgDir, { recursive: true });
    const ref = `${reg.host}/private/bb:1`;
    assert.equal((await h.docker(['tag', 'busybox', ref])).code, 0);
    // no credentials at all
    const anon = await h.docker(['push', ref], { timeoutMs: 60_000 });
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr + anon.stdout, /unauthorized: authentication required/);
    // wrong password stored for the registry (what a stale login leaves)
    await writeFile(join(cfgDir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${user.username}:wrong`).toString('base64') } } }));
    const wrongPull = await h.docker(['pull', ref], { timeoutMs: 60_000 });
    assert.notEqual(wrongPull.code, 0);
    assert.match(wrongPull.stderr, /unauthorized: authentication required/);
    const wrongLogin = await h.docker(['login', reg.host, '-u', user.username, '--password-stdin'], { input: 'wrong\n', timeoutMs: 60_000 });
    assert.notEqual(wrongLogin.code, 0);
    assert.match(wrongLogin.stderr, /401 Unauthorized: unauthorized: authentication required/);
    await rm(join(cfgDir, 'config.json'), { force: true });
    const login = await h.docker(['login', reg.host, '-u', user.username, '--password-stdin'], { input: `${user.password}\n`, timeoutMs: 60_000 });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Login Succeeded/);
    const push = await h.docker(['push', ref], { timeoutMs: 120_000 });
    assert.equal(push.code, 0, push.stderr + push.stdout);
    const digest = /1: digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    assert.equal((await h.docker(['rmi', ref])).code, 0);
    const pull = await h.docker(['pull', ref], { timeoutMs: 120_000 });
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.ok(!h.log().includes(user.password), 'the password never reaches shoald\'s log');
  });
});
