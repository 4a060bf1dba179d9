/**
 * dockerode's buildImage against a real shoald: its own gzip context (tar-fs + gzip), and a gzip tar
 * made by tar(1) that still holds files .dockerignore excludes — the daemon keeps them out of COPY —
 * with a Dockerfile under another name, build args and labels in the query.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { ShoaldHarness } from '../engine/shoald-harness.js';

interface Msg {
  stream?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message: string };
}

function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, out: Msg[]) => (err ? reject(err) : resolve(out)));
  });
}

/** `tar -czf - .` of a directory, as a stream. */
function gzipTar(dir: string): NodeJS.ReadableStream {
  const p = spawn('tar', ['-C', dir, '-czf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return p.stdout;
}

describe('dockerode builds on shoald', () => {
  let h: ShoaldHarness;
  let docker: Docker;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (overlay mounts, network namespaces, cgroups)');
    h = await ShoaldHarness.create();
    await h.start();
    docker = new Docker({ socketPath: h.socket, timeout: 120_000 });
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  const runOutput = async (image: string): Promise<string> => {
    const r = await h.docker(['run', '--rm', image]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  test('buildImage with its own gzip context builds, tags and reports the image ID', async () => {
    const dir = join(h.dir, 'ode-ctx');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY msg.txt /msg.txt\nRUN wc -c < /msg.txt > /len\nCMD cat /msg.txt /len\n');
    await writeFile(join(dir, 'msg.txt'), 'from dockerode\n');
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile', 'msg.txt'] }, { t: 'shoal-ode:1' });
    const msgs = await follow(docker, stream);
    assert.equal(msgs.find((m) => m.error !== undefined)?.error, undefined);
    const id = msgs.find((m) => m.aux?.ID !== undefined)?.aux?.ID;
    assert.match(id ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok(msgs.some((m) => m.stream === 'Successfully tagged shoal-ode:1\n'));
    const img = await docker.getImage('shoal-ode:1').inspect();
    assert.equal(img.Id, id);
    assert.equal(await runOutput('shoal-ode:1'), 'from dockerode\n15\n');
  });

  test('a gzip tar holding ignored files: .dockerignore keeps them out, build args and labels apply', async () => {
    const dir = join(h.dir, 'ode-ignore');
    await mkdir(join(dir, 'logs'), { recursive: true });
    await writeFile(join(dir, 'build.Dockerfile'), 'FROM busybox\nARG FLAVOUR=plain\nCOPY . /ctx\nRUN echo $FLAVOUR > /ctx/flavour\nCMD ["sh", "-c", "cd /ctx && find . | sort && cat flavour"]\n');
    await writeFile(join(dir, '.dockerignore'), '# secrets stay home\nsecret.txt\nlogs\n*.tmp\n!keep.tmp\n');
    await writeFile(join(dir, 'app.txt'), 'app\n');
    await writeFile(join(dir, 'secret.txt'), 'do not ship\n');
    await writeFile(join(dir, 'logs', 'a.log'), 'log\n');
    await writeFile(join(dir, 'junk.tmp'), 'junk\n');
    await writeFile(join(dir, 'keep.tmp'), 'kept by an exception\n');
    const stream = await docker.buildImage(gzipTar(dir) as unknown as NodeJS.ReadableStream, {
      t: 'shoal-ode:ignore',
      dockerfile: 'build.Dockerfile',
      buildargs: { FLAVOUR: 'spicy' },
      labels: { 'org.example.built-by': 'dockerode' },
    });
    const msgs = await follow(docker, stream);
    assert.equal(msgs.find((m) => m.error !== undefined)?.error, undefined, msgs.map((m) => m.stream ?? '').join(''));
    assert.equal(await runOutput('shoal-ode:ignore'), '.\n./.dockerignore\n./app.txt\n./build.Dockerfile\n./flavour\n./keep.tmp\nspicy\n');
    const img = await docker.getImage('shoal-ode:ignore').inspect();
    assert.equal(img.Config.Labels['org.example.built-by'], 'dockerode');
  });

  test('two builds of the same Dockerfile at once both succeed', async () => {
    const dir = join(h.dir, 'ode-twice');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo one > /one\nRUN echo two > /two\nCMD cat /one /two\n');
    const [a, b] = await Promise.all(['shoal-ode:twice-a', 'shoal-ode:twice-b'].map(async (t) => follow(docker, await docker.buildImage(gzipTar(dir) as unknown as NodeJS.ReadableStream, { t, nocache: true }))));
    for (const msgs of [a!, b!]) assert.equal(msgs.find((m) => m.error !== undefined)?.error, undefined, msgs.map((m) => m.stream ?? '').join(''));
    assert.equal(await runOutput('shoal-ode:twice-a'), 'one\ntwo\n');
    assert.equal(await runOutput('shoal-ode:twice-b'), 'one\ntwo\n');
    const ps = await h.docker(['ps', '-aq']);
    assert.equal(ps.stdout.trim(), '', 'no RUN container is left');
  });

  test('a build error arrives as an error message in the stream', async () => {
    const dir = join(h.dir, 'ode-bad');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox AS first\nFROM busybox\nCOPY --from=first /nope /y\n');
    const stream = await docker.buildImage(gzipTar(dir) as unknown as NodeJS.ReadableStream, { t: 'shoal-ode:bad' });
    const err = await follow(docker, stream).then(
      (msgs) => msgs.find((m) => m.error !== undefined)?.error,
      (e: unknown) => (e as Error).message,
    );
    assert.match(err ?? '', /Dockerfile:3: COPY failed: file not found in stage first: stat \/nope: file does not exist/);
    await assert.rejects(docker.getImage('shoal-ode:bad').inspect());
  });
});
