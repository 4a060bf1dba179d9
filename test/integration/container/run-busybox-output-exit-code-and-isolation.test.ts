import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openFixture, runToExit, leftovers, type Fixture } from './engine-fixture.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

test('busybox echo: output in the logs, exit 0, state exited', async () => {
  const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'echo hello-out; echo hello-err >&2'] });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'hello-out\n');
  assert.equal(r.stderr, 'hello-err\n');
  const j = f.mgr.inspect(r.id) as { State: { Status: string; ExitCode: number; Running: boolean } };
  assert.equal(j.State.Status, 'exited');
  assert.equal(j.State.Running, false);
  await f.mgr.remove(r.id);
  assert.deepEqual(await leftovers(f, r.id), []);
});

test('exit code 42 is recorded', async () => {
  const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'exit 42'] });
  assert.equal(r.code, 42);
  assert.equal((f.mgr.inspect(r.id) as { State: { ExitCode: number } }).State.ExitCode, 42);
  await f.mgr.remove(r.id);
});

test('isolation: PID 1 is the container process, own hostname, own mount table, default caps', async () => {
  const r = await runToExit(f.mgr, {
    Image: 'busybox',
    Hostname: 'box1',
    Cmd: ['sh', '-c', 'echo pid=$$; hostname; awk \'$5=="/"\' /proc/self/mountinfo | wc -l; grep CapEff /proc/self/status; ls /proc/1/exe >/dev/null && echo ok; cat /etc/hostname'],
  });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'pid=1');
  assert.equal(lines[1], 'box1');
  assert.equal(lines[2], '1');
  // Docker's default set: 0xa80425fb
  assert.match(lines[3] ?? '', /CapEff:\s+00000000a80425fb/);
  assert.equal(lines[5], 'box1');
  const env = (f.mgr.inspect(r.id) as { Config: { Env: string[] } }).Config.Env;
  assert.ok(env.some((e) => e.startsWith('PATH=')));
  assert.ok(env.includes('HOSTNAME=box1'));
  await f.mgr.remove(r.id);
});
