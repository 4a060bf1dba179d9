/**
 * shoald SIGKILLed in the middle of a RUN step: the restarted daemon unmounts and deletes the build's
 * scratch snapshots and removes the RUN container, no image is left, and the next build works.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOCKER, run, ShoaldHarness } from '../engine/shoald-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a daemon killed mid-build', () => {
  let h: ShoaldHarness;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (overlay mounts, network namespaces, cgroups)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    h = await ShoaldHarness.create();
    await h.start();
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('leaves no snapshot mounted, no RUN container and no image once it is back', async () => {
    const dir = join(h.dir, 'ctx-crash');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'data.txt'), 'data\n');
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY data.txt /d\nRUN echo started && sleep 60\n');
    const imagesBefore = (await h.docker(['images', '-q'])).stdout;
    const cli = spawn(DOCKER, ['build', '-t', 'crash:1', dir], { env: { ...process.env, ...h.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (c: Buffer) => (out += c.toString()));
    cli.stderr.on('data', () => undefined);
    const exited = new Promise<number | null>((r) => cli.once('exit', r));
    for (let i = 0; i < 300 && !out.includes('started'); i++) await sleep(100);
    assert.match(out, /started/, 'the RUN step is running');
    await h.stop('SIGKILL');
    assert.notEqual(await exited, 0, 'the client sees the build fail');
    await h.start();
    const buildMounts = (): string[] => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(join(h.dataRoot, 'build')));
    let ps = '';
    for (let i = 0; i < 100; i++) {
      ps = (await h.docker(['ps', '-aq'])).stdout.trim();
      if (ps === '' && buildMounts().length === 0) break;
      await sleep(200);
    }
    assert.equal(ps, '', 'the RUN container is gone');
    assert.deepEqual(buildMounts(), [], 'no build snapshot stays mounted');
    assert.equal((await h.docker(['images', '-q'])).stdout, imagesBefore, 'no image was made');
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY data.txt /d\nRUN echo fine\n');
    const again = await run(DOCKER, ['build', '-t', 'crash:2', dir], { env: { ...h.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Using cache/, 'the COPY step made before the crash is reused');
  });

  test('a client that goes away cancels the build: the RUN container is killed and removed', async () => {
    const dir = join(h.dir, 'ctx-cancel');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo cancel-me && sleep 120\nRUN echo never\n');
    const cli = spawn(DOCKER, ['build', '-t', 'cancel:1', dir], { env: { ...process.env, ...h.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (c: Buffer) => (out += c.toString()));
    cli.stderr.on('data', () => undefined);
    const exited = new Promise<void>((r) => cli.once('exit', () => r()));
    for (let i = 0; i < 300 && !out.includes('cancel-me'); i++) await sleep(100);
    assert.match(out, /cancel-me/);
    cli.kill('SIGKILL');
    await exited;
    let ps = 'x';
    for (let i = 0; i < 100 && ps !== ''; i++) {
      await sleep(200);
      ps = (await h.docker(['ps', '-aq'])).stdout.trim();
    }
    assert.equal(ps, '', 'the RUN container is gone well before its sleep ends');
    const img = await h.docker(['image', 'inspect', 'cancel:1']);
    assert.notEqual(img.code, 0, 'no image');
  });
});
