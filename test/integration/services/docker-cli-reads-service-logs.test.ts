/**
 * The real docker CLI's `service logs` against the logs routes over a LogSource fed as agents would:
 * lines come back with the CLI's `name.slot.task@node | line` prefix (so the details context is right),
 * stdout and stderr apart (stdcopy frames), --tail per task, --timestamps, --raw, a task's own logs,
 * and -f that follows new lines and ends when the service is removed. dockerode reads the same frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';
import { MemoryLogSource } from './memory-log-source.js';

function docker(sock: string, args: string[], onStdout?: (all: string) => void): { done: Promise<{ code: number; stdout: string; stderr: string }>; kill: () => void } {
  const p = spawn('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(sock, '..', 'cfg') } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout);
  });
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  p.stdin.end();
  const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    }),
  );
  return { done, kill: () => p.kill('SIGKILL') };
}
const run = (sock: string, args: string[]) => docker(sock, args).done;

test('docker service logs: prefixes, streams, tail, timestamps, raw, task logs, follow ends with the service', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-svc-logs-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const logs = new MemoryLogSource(c.store);
  const app = buildServiceApi(c.store, { logs });
  try {
    await c.addNode('lognode1xxxxxxxxxxxxxxxxx', { hostname: 'lognode1' });
    await app.listen({ path: sock });
    const created = await run(sock, ['service', 'create', '--no-resolve-image', '--detach', '--name', 'logapp', '--replicas', '2', 'busybox:1.36']);
    assert.equal(created.code, 0, created.stderr);
    const sid = created.stdout.trim();
    await c.until('2 running', () => c.running(sid).length === 2);
    const bySlot = new Map(c.running(sid).map((t) => [t.Slot, t.ID]));
    const t1 = bySlot.get(1)!;
    const t2 = bySlot.get(2)!;
    logs.publish(t1, 'stdout', 'hello from 1\n', '2024-05-01T10:00:00.5Z');
    logs.publish(t2, 'stderr', 'oops from 2\n', '2024-05-01T10:00:01Z');
    logs.publish(t1, 'stdout', 'second line\n', '2024-05-01T10:00:02.123456Z');

    const all = await run(sock, ['service', 'logs', 'logapp']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, new RegExp(`logapp\\.1\\.${t1.slice(0, 12)}@lognode1\\s*\\| hello from 1\\n`));
    assert.match(all.stdout, /\| second line\n/);
    assert.ok(!all.stdout.includes('oops'), 'stderr lines are not on stdout');
    assert.match(all.stderr, new RegExp(`logapp\\.2\\.${t2.slice(0, 12)}@lognode1\\s*\\| oops from 2\\n`));

    const tail = await run(sock, ['service', 'logs', '--tail', '1', 'logapp']);
    assert.ok(!tail.stdout.includes('hello from 1') && tail.stdout.includes('second line') && tail.stderr.includes('oops from 2'), tail.stdout + tail.stderr);

    const ts = await run(sock, ['service', 'logs', '--timestamps', '--raw', '--no-trunc', 'logapp']);
    assert.equal(ts.code, 0, ts.stderr);
    assert.match(ts.stdout, /^2024-05-01T10:00:00\.500000000Z hello from 1$/m);
    assert.match(ts.stdout, /^2024-05-01T10:00:02\.123456000Z second line$/m);

    const task = await run(sock, ['service', 'logs', t2]);
    assert.equal(task.code, 0, task.stderr);
    assert.match(task.stderr, /oops from 2/);
    assert.ok(!task.stdout.includes('hello'), 'a task\'s logs are only its own');

    const dode = new Docker({ socketPath: sock });
    const raw = (await dode.getService(sid).logs({ stdout: true, stderr: true, follow: false } as never)) as unknown as Buffer;
    assert.equal(raw[0], 1, 'first frame is stdout');
    assert.equal(raw.readUInt32BE(4), raw.subarray(8).indexOf('\n') + 1, 'frame length covers one line');
    assert.ok(raw.includes(Buffer.from(`com.docker.swarm.task.id=${t1}`)) === false, 'details only when asked');

    // follow: new lines arrive; the stream ends when the service is removed
    let resolveSeen: () => void = () => {};
    const seen = new Promise<void>((r) => (resolveSeen = r));
    const f = docker(sock, ['service', 'logs', '-f', '--tail', '0', 'logapp'], (out) => {
      if (out.includes('live line')) resolveSeen();
    });
    // publish until the follower has subscribed and sees it
    const pump = setInterval(() => logs.publish(t1, 'stdout', 'live line\n'), 100);
    try {
      await seen;
    } finally {
      clearInterval(pump);
    }
    assert.equal((await run(sock, ['service', 'rm', 'logapp'])).code, 0);
    const ended = await f.done;
    assert.equal(ended.code, 0, ended.stderr);
    assert.ok(!ended.stdout.includes('hello from 1'), '--tail 0 shows no history');

    const bad = await app.inject({ method: 'GET', url: `/tasks/${t1}/logs` });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /choose at least one stream/);
    const missing = await app.inject({ method: 'GET', url: '/services/nosuch/logs?stdout=1' });
    assert.equal(missing.statusCode, 404);
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
