/**
 * `docker build` (the real docker CLI v28, DOCKER_BUILDKIT=0 — the classic builder's POST /build)
 * against a real shoald: a multi-stage Dockerfile with RUN, COPY --from, ARG, ENV, USER and
 * HEALTHCHECK builds an image that docker run runs; a second build is fully cached; a changed file
 * rebuilds from its COPY on; and bad input (a syntax error, a COPY of a missing file, an unknown base
 * image, a failing RUN) is a clear error that leaves no image and no container behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DOCKER, rawRequest, run, ShoaldHarness, type RunResult } from '../engine/shoald-harness.js';

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS build
ARG GREETING=hello
ENV APP_DIR=/app
WORKDIR $APP_DIR
COPY greeting.txt lib/ ./
RUN echo "$GREETING from RUN" > generated.txt \\
 && cat greeting.txt >> generated.txt \\
 && rm drop.txt

FROM busybox
LABEL org.example.stage=final
ENV MODE=production
COPY --from=build /app /srv
RUN echo 'appuser:x:1234:1234::/srv:/bin/sh' >> /etc/passwd && chown -R appuser /srv
USER appuser
HEALTHCHECK --interval=30s --timeout=3s CMD test -f /srv/generated.txt
CMD ["sh", "-c", "id -u; cat /srv/generated.txt; ls /srv; echo mode=$MODE"]
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

describe('docker build (classic builder) against shoald', () => {
  let h: ShoaldHarness;
  let ctx: string;
  const build = (args: string[], dir = ctx): Promise<RunResult> => run(DOCKER, ['build', ...args, dir], { env: { ...h.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 });
  const imageIds = async (): Promise<string[]> => (await h.docker(['images', '-q', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean).sort();
  const containers = async (): Promise<string> => (await h.docker(['ps', '-aq'])).stdout.trim();

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (overlay mounts, network namespaces, cgroups)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    h = await ShoaldHarness.create();
    await h.start();
    ctx = join(h.dir, 'ctx');
    await mkdir(join(ctx, 'lib'), { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), DOCKERFILE);
    await writeFile(join(ctx, 'greeting.txt'), 'greeting file v1\n');
    await writeFile(join(ctx, 'lib', 'drop.txt'), 'removed by RUN\n');
    await writeFile(join(ctx, 'lib', 'keep.txt'), 'kept\n');
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  let firstId = '';

  test('a multi-stage Dockerfile with RUN, COPY --from, ARG, ENV, USER and HEALTHCHECK builds an image that runs', async () => {
    const r = await build(['-t', 'shoal-build-e2e:1', '--build-arg', 'GREETING=bonjour']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${h.log()}`);
    assert.match(r.stdout, /Step 1\/14 : FROM \$\{BASE\} AS build\n/);
    assert.match(r.stdout, /Step 14\/14 : CMD \["sh", "-c", .*\]\n/);
    assert.match(r.stdout, / ---> Running in [0-9a-f]{12}\n/);
    const m = /Successfully built ([0-9a-f]{12})\nSuccessfully tagged shoal-build-e2e:1\n/.exec(r.stdout);
    assert.ok(m, r.stdout);
    firstId = m[1]!;

    const out = await h.docker(['run', '--rm', 'shoal-build-e2e:1']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, '1234\nbonjour from RUN\ngreeting file v1\ngenerated.txt\ngreeting.txt\nkeep.txt\nmode=production\n');

    const insp = await h.docker(['image', 'inspect', 'shoal-build-e2e:1', '--format', '{{json .Config}}']);
    assert.equal(insp.code, 0, insp.stderr);
    const cfg = JSON.parse(insp.stdout) as { User: string; Env: string[]; Labels: Record<string, string>; Healthcheck: { Test: string[]; Interval: number; Timeout: number }; Cmd: string[]; WorkingDir?: string };
    assert.equal(cfg.User, 'appuser');
    assert.ok(cfg.Env.includes('MODE=production'), cfg.Env.join(','));
    assert.ok(!cfg.Env.some((e) => e.startsWith('GREETING=')), 'a build arg is not part of the image');
    assert.deepEqual(cfg.Labels, { 'org.example.stage': 'final' });
    assert.deepEqual(cfg.Healthcheck, { Test: ['CMD-SHELL', 'test -f /srv/generated.txt'], Interval: 30e9, Timeout: 3e9 });
    assert.equal(cfg.Cmd[0], 'sh');
    assert.equal(await containers(), '', 'no RUN container is left');
  });

  test('a second build with no change is fully cached and gives the same image', async () => {
    const r = await build(['-t', 'shoal-build-e2e:1', '--build-arg', 'GREETING=bonjour']);
    assert.equal(r.code, 0, r.stderr);
    const steps = [...r.stdout.matchAll(/^Step \d+\/14 : (\S+)/gm)].map((x) => x[1]!);
    const cached = (r.stdout.match(/ ---> Using cache\n/g) ?? []).length;
    assert.equal(cached, steps.filter((s) => s.toUpperCase() !== 'FROM').length, r.stdout);
    assert.doesNotMatch(r.stdout, /Running in/);
    assert.match(r.stdout, new RegExp(`Successfully built ${firstId}\n`));
  });

  test('a changed source file rebuilds from its COPY on and reuses the steps before it', async () => {
    await writeFile(join(ctx, 'greeting.txt'), 'greeting file v2\n');
    const r = await build(['-t', 'shoal-build-e2e:2', '--build-arg', 'GREETING=bonjour']);
    assert.equal(r.code, 0, r.stderr);
    const copyStep = r.stdout.split('Step 5/14')[1]!.split('Step 6/14')[0]!;
    assert.doesNotMatch(copyStep, /Using cache/, 'the COPY of a changed file runs again');
    const before = r.stdout.split('Step 5/14')[0]!;
    assert.equal((before.match(/Using cache/g) ?? []).length, 3, 'ARG, ENV and WORKDIR come from the cache');
    const out = await h.docker(['run', '--rm', 'shoal-build-e2e:2']);
    assert.match(out.stdout, /greeting file v2/);
    await writeFile(join(ctx, 'greeting.txt'), 'greeting file v1\n');
  });

  test('a Dockerfile syntax error is a 400 naming the line, and nothing is built', async () => {
    const bad = join(h.dir, 'ctx-syntax');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'Dockerfile'), 'FROM busybox\nRUN true\nRUNN echo typo\n');
    const imagesBefore = await imageIds();
    const r = await build(['-t', 'shoal-build-e2e:bad'], bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Dockerfile:3: unknown instruction: RUNN/);
    assert.deepEqual(await imageIds(), imagesBefore);
  });

  test('a COPY of a missing file fails with a clear error, leaving no image and no container', async () => {
    const bad = join(h.dir, 'ctx-missing');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo made-a-layer > /x\nCOPY missing.txt /missing.txt\n');
    const imagesBefore = await imageIds();
    const r = await build(['-t', 'shoal-build-e2e:missing'], bad);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /Dockerfile:3: COPY failed: file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist/);
    assert.deepEqual(await imageIds(), imagesBefore, 'no partial image');
    assert.equal(await containers(), '');
    const tagged = await h.docker(['image', 'inspect', 'shoal-build-e2e:missing']);
    assert.notEqual(tagged.code, 0);
  });

  test('an unknown base image fails with the registry error and builds nothing', async () => {
    const port = await freePort();
    const bad = join(h.dir, 'ctx-base');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'Dockerfile'), `FROM 127.0.0.1:${port}/no/such-image:1\nRUN true\n`);
    const imagesBefore = await imageIds();
    const r = await build(['-t', 'shoal-build-e2e:nobase'], bad);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /Dockerfile:1: .*127\.0\.0\.1/);
    assert.deepEqual(await imageIds(), imagesBefore);
  });

  test('a failing RUN reports its exit code and removes its container', async () => {
    const bad = join(h.dir, 'ctx-run');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo about to fail && exit 3\n');
    const imagesBefore = await imageIds();
    const r = await build([], bad);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /about to fail/);
    assert.match(r.stderr, /Dockerfile:2: The command '\/bin\/sh -c echo about to fail && exit 3' returned a non-zero code: 3/);
    assert.deepEqual(await imageIds(), imagesBefore);
    assert.equal(await containers(), '');
  });

  test('bad query parameters and bodies are 400s naming the field', async () => {
    const tar = 'application/x-tar';
    const cases: [string, RegExp][] = [
      ['/build?t=Bad%20Name', /^t: invalid tag "Bad Name"/],
      ['/build?buildargs=%7Bnot-json', /^buildargs: invalid JSON/],
      ['/build?buildargs=%7B%22A%22%3A1%7D', /^buildargs: the value of A must be a string/],
      ['/build?labels=%5B%5D', /^labels: a JSON object is expected/],
      ['/build?remote=https%3A%2F%2F127.0.0.1%2Fctx.tar', /^remote: remote build contexts are not supported/],
      ['/build?nocache=maybe', /^invalid boolean for query parameter nocache: maybe/],
      ['/build', /^Cannot locate specified Dockerfile: Dockerfile/],
      ['/build?dockerfile=nope.Dockerfile', /^Cannot locate specified Dockerfile: nope\.Dockerfile/],
    ];
    for (const [path, want] of cases) {
      const r = await rawRequest(h.socket, 'POST', path, '', { 'Content-Type': tar });
      assert.equal(r.status, 400, `${path}: ${r.body}`);
      assert.match((JSON.parse(r.body) as { message: string }).message, want, path);
    }
    const junk = await rawRequest(h.socket, 'POST', '/build', 'this is not a tar archive at all, just text that goes on for a while'.repeat(20), { 'Content-Type': tar });
    assert.equal(junk.status, 400, junk.body);
    assert.match((JSON.parse(junk.body) as { message: string }).message, /build context is not a valid tar archive|Cannot locate specified Dockerfile/);
  });

  test('docker builder prune empties the build cache, and the next build runs every step', async () => {
    const p = await h.docker(['builder', 'prune', '-f']);
    assert.equal(p.code, 0, p.stderr);
    const r = await build(['-t', 'shoal-build-e2e:1', '--build-arg', 'GREETING=bonjour']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Using cache/);
  });
});
