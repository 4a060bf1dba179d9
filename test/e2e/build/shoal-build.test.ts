/**
 * `shoal build` against a real shoald: -t (twice), -f from outside the context, --build-arg, --label,
 * --target, -q, .dockerignore applied on the client side, and a failing build exiting 1 with the
 * daemon's message.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ShoaldHarness } from '../engine/shoald-harness.js';

describe('shoal build', () => {
  let h: ShoaldHarness;
  let ctx: string;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (overlay mounts, network namespaces, cgroups)');
    h = await ShoaldHarness.create();
    await h.start();
    ctx = join(h.dir, 'shoal-ctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'app.txt'), 'app\n');
    await writeFile(join(ctx, 'ignored.log'), 'never sent\n');
    await writeFile(join(ctx, '.dockerignore'), '*.log\n');
    await writeFile(join(h.dir, 'outside.Dockerfile'), 'FROM busybox AS base\nARG WHO=nobody\nCOPY . /ctx\nRUN echo "built for $WHO" > /who\nFROM base AS extra\nRUN echo never > /never\n');
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('-t twice, -f outside the context, --build-arg, --label and --target build the named stage and print the steps', async () => {
    const r = await h.shoal(['build', '-t', 'shoal-cli-build:1', '-t', 'shoal-cli-build:latest', '-f', join(h.dir, 'outside.Dockerfile'), '--build-arg', 'WHO=ops', '--label', 'team=core', '--target', 'base', ctx], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Step 1\/5 : FROM busybox AS base\n/, 'the label step counts; the extra stage is not built');
    assert.match(r.stdout, /Successfully tagged shoal-cli-build:1\nSuccessfully tagged shoal-cli-build:latest\n/);
    const run = await h.docker(['run', '--rm', 'shoal-cli-build:1', 'sh', '-c', 'cat /who; ls -A /ctx; test -e /never || echo no-extra']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^built for ops\n/);
    assert.ok(!run.stdout.includes('ignored.log'), `.dockerignore applies: ${run.stdout}`);
    assert.match(run.stdout, /app\.txt/);
    assert.match(run.stdout, /no-extra\n$/);
    const label = await h.docker(['image', 'inspect', 'shoal-cli-build:latest', '--format', '{{index .Config.Labels "team"}}']);
    assert.equal(label.stdout.trim(), 'core');
  });

  test('-q prints only the image ID', async () => {
    const r = await h.shoal(['build', '-q', '-f', join(h.dir, 'outside.Dockerfile'), '--build-arg', 'WHO=ops', '--label', 'team=core', '--target', 'base', ctx], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const id = await h.docker(['image', 'inspect', 'shoal-cli-build:1', '--format', '{{.Id}}']);
    assert.equal(r.stdout.trim(), id.stdout.trim(), 'the same inputs give the same (cached) image');
  });

  test('a failing build exits 1 with the daemon\'s message', async () => {
    const bad = join(h.dir, 'shoal-bad');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'Dockerfile'), 'FROM busybox\nCOPY nothing-here /x\n');
    const r = await h.shoal(['build', '-t', 'shoal-cli-build:bad', bad], { timeoutMs: 120_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Dockerfile:2: COPY failed: file not found in build context or excluded by \.dockerignore: stat nothing-here/);
    const syntax = join(h.dir, 'shoal-syntax');
    await mkdir(syntax, { recursive: true });
    await writeFile(join(syntax, 'Dockerfile'), 'FROM busybox\nCOPY onlyone\n');
    const s = await h.shoal(['build', syntax]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /Error response from daemon: Dockerfile:2: COPY requires at least two arguments/);
  });
});
