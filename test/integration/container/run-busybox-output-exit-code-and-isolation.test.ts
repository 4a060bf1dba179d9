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

test('the container sees Docker\'s /dev, a read-only /sys, masked /proc paths, and its own /etc/hosts and resolv.conf', async () => {
  const r = await runToExit(f.mgr, {
    Image: 'busybox',
    Cmd: ['sh', '-c', [
      'for d in null zero full random urandom tty pts shm mqueue; do [ -e /dev/$d ] && printf "%s " $d; done; echo',
      'touch /sys/x 2>/dev/null && echo sys-rw || echo sys-ro',
      'wc -c < /proc/timer_list; ls /sys/firmware | wc -l',
      'grep -c localhost /etc/hosts',
      'head -c 4 /dev/urandom | wc -c',
    ].join('; ')],
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim()), ['null zero full random urandom tty pts shm mqueue', 'sys-ro', '0', '0', '2', '4']);
  await f.mgr.remove(r.id);
});

test('User by name or uid:gid, WorkingDir created when missing', async () => {
  const byName = await runToExit(f.mgr, { Image: 'busybox', User: 'app', WorkingDir: '/work/dir', Cmd: ['sh', '-c', 'id -u; id -g; pwd'] });
  assert.equal(byName.stdout, '1000\n1000\n/work/dir\n');
  const byIds = await runToExit(f.mgr, { Image: 'busybox', User: '1234:5678', Cmd: ['sh', '-c', 'id -u; id -g'] });
  assert.equal(byIds.stdout, '1234\n5678\n');
  await f.mgr.remove(byName.id);
  await f.mgr.remove(byIds.id);
});
