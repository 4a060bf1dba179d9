import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openFixture, type Fixture } from './engine-fixture.js';
import type { ContainerEvent } from '../../../worker/engine/container/types.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

const state = (id: string): { Status: string; ExitCode: number; Health?: { Status: string; FailingStreak: number; Log: { ExitCode: number }[] } } =>
  (f.mgr.inspect(id) as { State: { Status: string; ExitCode: number } }).State;

async function until(cond: () => boolean, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('stop sends TERM; a trap that exits is honoured with its code', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sh', '-c', 'trap "exit 9" TERM; while true; do sleep 0.1; done'], HostConfig: { NetworkMode: 'none' } });
  await f.mgr.start(Id);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await f.mgr.stop(Id, { t: 10 }), true);
  assert.equal(state(Id).Status, 'exited');
  assert.equal(state(Id).ExitCode, 9);
  assert.equal(await f.mgr.stop(Id), false, 'stopping a stopped container is a no-op (304)');
  await f.mgr.remove(Id);
});

test('stop escalates to SIGKILL after the grace period when TERM is ignored', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'], HostConfig: { NetworkMode: 'none' } });
  await f.mgr.start(Id);
  await new Promise((r) => setTimeout(r, 200));
  await f.mgr.stop(Id, { t: 1 });
  assert.equal(state(Id).ExitCode, 137);
  await f.mgr.remove(Id);
});

test('restart policy on-failure:2 restarts a failing container twice, then leaves it exited', async () => {
  const events: string[] = [];
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sh', '-c', 'echo run; exit 3'], HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
  await f.mgr.start(Id);
  await until(() => (f.mgr.inspect(Id) as { RestartCount: number }).RestartCount === 2 && state(Id).Status === 'exited', 'two restarts');
  assert.equal(state(Id).ExitCode, 3);
  let runs = 0;
  for await (const e of f.mgr.io.logs(Id, {})) if (e.data.toString() === 'run\n') runs++;
  assert.equal(runs, 3);
  void events;
  await f.mgr.remove(Id);
});

test('restart policy always brings back a container killed from outside; stop ends it for good', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'always' } } });
  await f.mgr.start(Id);
  const pid = (f.mgr.inspect(Id) as { State: { Pid: number } }).State.Pid;
  process.kill(pid, 'SIGKILL');
  await until(() => (f.mgr.inspect(Id) as { RestartCount: number }).RestartCount === 1 && state(Id).Status === 'running', 'a restart');
  await f.mgr.stop(Id, { t: 1 });
  assert.equal(state(Id).Status, 'exited');
  await f.mgr.remove(Id);
});

test('health check: starting → healthy, then unhealthy after Retries failures, with a log of at most 5 results', async () => {
  const seen: ContainerEvent[] = [];
  void seen;
  const { Id } = await f.mgr.create({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'touch /tmp/ok; sleep 60'],
    Healthcheck: { Test: ['CMD-SHELL', 'test -e /tmp/ok'], Interval: 100_000_000, Timeout: 2_000_000_000, Retries: 2 },
    HostConfig: { NetworkMode: 'none' },
  });
  await f.mgr.start(Id);
  assert.equal(state(Id).Health?.Status, 'starting');
  await until(() => state(Id).Health?.Status === 'healthy', 'healthy');
  const { Id: ex } = f.mgr.io.execCreate(Id, { Cmd: ['rm', '/tmp/ok'] });
  assert.equal(await (await f.mgr.io.execStart(ex)).wait(), 0);
  await until(() => state(Id).Health?.Status === 'unhealthy', 'unhealthy');
  const h = state(Id).Health!;
  assert.ok(h.FailingStreak >= 2);
  assert.ok(h.Log.length <= 5 && h.Log.at(-1)!.ExitCode === 1);
  assert.match(f.mgr.list({}).map((r) => r.Status as string).join(), /unhealthy/);
  await f.mgr.remove(Id, { force: true });
});

test('a health probe that exceeds its timeout counts as a failure and its process is killed inside the container', async () => {
  const { Id } = await f.mgr.create({
    Image: 'busybox',
    Cmd: ['sleep', '60'],
    Healthcheck: { Test: ['CMD', 'sleep', '47'], Interval: 100_000_000, Timeout: 200_000_000, Retries: 1 },
    HostConfig: { NetworkMode: 'none' },
  });
  await f.mgr.start(Id);
  await until(() => state(Id).Health?.Status === 'unhealthy', 'unhealthy by timeout');
  const last = state(Id).Health!.Log.at(-1) as { ExitCode: number; Output: string };
  assert.equal(last.ExitCode, -1);
  assert.match(last.Output, /exceeded timeout/);
  const { Id: ex } = f.mgr.execCreate(Id, { Cmd: ['sh', '-c', 'ps -o args | grep -c "^sleep 47" || true'] });
  const h = await f.mgr.execStart(ex);
  let out = '';
  for await (const c of h.output) out += c.data.toString();
  assert.ok(Number(out.trim()) <= 1, `timed-out probes must not pile up, found ${out.trim()} still running`);
  await f.mgr.remove(Id, { force: true });
});
