/**
 * dockerode (unversioned paths, `true` booleans, non-hijacked attach, hijacked exec) against a real
 * shoald: ping, version, create/start/wait/logs/remove, docker.run with a TTY, exec with its exit code.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { ShoaldHarness } from './shoald-harness.js';

async function collect(stream: NodeJS.ReadableStream, modem: { demuxStream(s: NodeJS.ReadableStream, o: NodeJS.WritableStream, e: NodeJS.WritableStream): void }): Promise<{ out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (c: Buffer) => (o += c.toString()));
  err.on('data', (c: Buffer) => (e += c.toString()));
  modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('close', () => resolve());
    stream.on('error', reject);
  });
  return { out: o, err: e };
}

describe('dockerode drives shoald', () => {
  let h: ShoaldHarness;
  let docker: Docker;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, mounts, cgroups)');
    h = await ShoaldHarness.create();
    await h.start();
    docker = new Docker({ socketPath: h.socket, timeout: 30_000 });
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('ping and version answer on unversioned paths', async () => {
    const pong = (await docker.ping()) as unknown;
    assert.equal(String(pong), 'OK');
    const v = await docker.version();
    assert.equal(v.ApiVersion, '1.45');
    assert.equal(v.Os, 'linux');
  });

  test('create, start, wait, logs and remove a container', async () => {
    const name = `dode${process.pid}`;
    const c = await docker.createContainer({ Image: 'busybox', name, Cmd: ['sh', '-c', 'echo hello; echo oops >&2; exit 5'] });
    await c.start();
    const w = (await c.wait()) as { StatusCode: number };
    assert.equal(w.StatusCode, 5);
    const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const src = new PassThrough();
    const demuxed = collect(src, docker.modem as never);
    src.end(logs);
    const { out, err } = await demuxed;
    assert.equal(out, 'hello\n');
    assert.equal(err, 'oops\n');
    const listed = await docker.listContainers({ all: true });
    assert.ok(listed.some((x) => x.Names.includes(`/${name}`)));
    await c.remove();
    const after = await docker.listContainers({ all: true });
    assert.ok(!after.some((x) => x.Names.includes(`/${name}`)));
  });

  test('exec through the hijacked start gives output and the exit code', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'] });
    try {
      await c.start();
      const exec = await c.exec({ Cmd: ['sh', '-c', 'echo in-exec; exit 2'], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      const { out } = await collect(stream, docker.modem as never);
      assert.equal(out, 'in-exec\n');
      let info = await exec.inspect();
      for (let i = 0; i < 50 && info.Running; i++) {
        await new Promise((r) => setTimeout(r, 100));
        info = await exec.inspect();
      }
      assert.equal(info.ExitCode, 2);
    } finally {
      await c.remove({ force: true });
    }
  });

  test('docker.run with a TTY and the plain attach returns the output and status', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const [result, container] = (await docker.run('busybox', ['echo', 'via-run'], out, { HostConfig: { AutoRemove: false } })) as [{ StatusCode: number }, Docker.Container];
    assert.equal(result.StatusCode, 0);
    assert.match(text, /via-run/);
    await container.remove({ force: true });
  });
});
