import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openFixture, leftovers, type Fixture } from './engine-fixture.js';
import { collect } from '../../../worker/engine/container/exec-session.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

test('exec runs in the container with piped stdio and records its exit code', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sleep', '30'], Hostname: 'ex1', Env: ['FOO=bar'], HostConfig: { NetworkMode: 'none' } });
  await f.mgr.start(Id);
  const { Id: e1 } = f.mgr.io.execCreate(Id, { Cmd: ['sh', '-c', 'echo $FOO $(hostname) $(id -u); echo err >&2; exit 5'], AttachStdout: true, AttachStderr: true });
  const h1 = await f.mgr.io.execStart(e1);
  const chunks: string[] = [];
  for await (const c of h1.output) chunks.push(c.data.toString());
  assert.equal(f.mgr.io.execInspect(e1).ExitCode, 5, 'the exit code is known when the output ends (the docker CLI inspects right then)');
  const r = { code: await h1.wait(), stdout: 'bar ex1 0\n', stderr: 'err\n' };
  assert.deepEqual(chunks.sort(), ['bar ex1 0\n', 'err\n']);
  assert.deepEqual(r, { code: 5, stdout: 'bar ex1 0\n', stderr: 'err\n' });
  const ins = f.mgr.io.execInspect(e1);
  assert.equal(ins.ExitCode, 5);
  assert.equal(ins.Running, false);
  assert.equal(ins.ContainerID, Id);
  const { Id: e2 } = f.mgr.io.execCreate(Id, { Cmd: ['cat'], AttachStdin: true, User: 'app' });
  const h = await f.mgr.io.execStart(e2);
  h.stdin?.end('through-stdin');
  const r2 = await collect(h);
  assert.equal(r2.stdout, 'through-stdin');
  const { Id: e3 } = f.mgr.io.execCreate(Id, { Cmd: ['id', '-u'], User: 'app' });
  assert.equal((await collect(await f.mgr.io.execStart(e3))).stdout, '1000\n');
  await f.mgr.remove(Id, { force: true });
});

test('attach before start streams the output and ends when the container exits (docker run without -d)', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sh', '-c', 'for i in 1 2 3; do echo out$i; sleep 0.05; done; echo bye >&2'], HostConfig: { NetworkMode: 'none' } });
  const a = await f.mgr.io.attach(Id, { stream: true, stdout: true, stderr: true });
  const got: string[] = [];
  const reading = (async () => {
    for await (const c of a.output) got.push(`${c.stream}:${c.data.toString()}`);
  })();
  await f.mgr.start(Id);
  await reading;
  assert.deepEqual(got, ['stdout:out1\n', 'stdout:out2\n', 'stdout:out3\n', 'stderr:bye\n']);
  await f.mgr.remove(Id);
});

test('logs: tail, timestamps, stream selection, follow ends at exit', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo l$i; sleep 0.05; done; printf partial'], HostConfig: { NetworkMode: 'none' } });
  await f.mgr.start(Id);
  const followed: string[] = [];
  for await (const e of f.mgr.io.logs(Id, { follow: true })) followed.push(e.data.toString());
  assert.deepEqual(followed, ['l1\n', 'l2\n', 'l3\n', 'l4\n', 'l5\n', 'partial']);
  const tail: string[] = [];
  for await (const e of f.mgr.io.logs(Id, { tail: 2 })) tail.push(e.data.toString());
  assert.deepEqual(tail, ['l5\n', 'partial']);
  let n = 0;
  for await (const _ of f.mgr.io.logs(Id, { stdout: false })) n++;
  assert.equal(n, 0);
  await f.mgr.remove(Id);
});

test('AutoRemove removes the container and its kernel objects after it exits', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none', AutoRemove: true } });
  const removed = f.mgr.wait(Id, 'removed');
  await f.mgr.start(Id);
  await removed;
  assert.equal(f.mgr.store.find(Id), undefined);
  assert.deepEqual(await leftovers(f, Id), []);
});

test('attach stdin (docker run -i): input written before start reaches the container, closing it ends StdinOnce', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sh', '-c', 'cat; echo done'], OpenStdin: true, StdinOnce: true, AttachStdin: true, HostConfig: { NetworkMode: 'none' } });
  const a = await f.mgr.attach(Id, { stdin: true, stdout: true, stderr: true, stream: true });
  assert.ok(a.stdin);
  a.stdin.write('line one\n');
  const got: string[] = [];
  const reading = (async () => {
    for await (const c of a.output) got.push(c.data.toString());
  })();
  const exited = f.mgr.wait(Id, 'next-exit');
  await f.mgr.start(Id);
  a.stdin.end('line two\n');
  assert.equal((await exited).StatusCode, 0);
  await reading;
  assert.deepEqual(got, ['line one\n', 'line two\n', 'done\n']);
  await f.mgr.remove(Id);
});

test('Tty containers get a pseudo-terminal under conmon, and resize reaches it', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Tty: true, Cmd: ['sh', '-c', 'tty; while [ ! -e /tmp/go ]; do sleep 0.05; done; stty size'], HostConfig: { NetworkMode: 'none' } });
  const exited = f.mgr.wait(Id, 'next-exit');
  await f.mgr.start(Id);
  await f.mgr.resize(Id, 40, 100);
  const { Id: ex } = f.mgr.execCreate(Id, { Cmd: ['touch', '/tmp/go'] });
  assert.equal(await (await f.mgr.execStart(ex)).wait(), 0);
  assert.equal((await exited).StatusCode, 0);
  let out = '';
  for await (const e of f.mgr.logs(Id, {})) out += e.data.toString();
  assert.equal(out, '/dev/pts/0\r\n40 100\r\n');
  await f.mgr.remove(Id);
});

test('exec with a TTY runs on a pseudo-terminal; stdin and the exit code pass through', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none' } });
  await f.mgr.start(Id);
  const { Id: ex } = f.mgr.execCreate(Id, { Cmd: ['sh', '-c', "tty; read x; echo got=$x; exit 4"], Tty: true, AttachStdin: true, AttachStdout: true });
  const h = await f.mgr.execStart(ex);
  h.stdin?.write('hello\n');
  let out = '';
  for await (const c of h.output) out += c.data.toString();
  assert.equal(await h.wait(), 4);
  assert.match(out, /\/dev\/pts\/\d+\r+\n/);
  assert.match(out, /got=hello\r\n/);
  assert.equal(f.mgr.execInspect(ex).ProcessConfig.tty, true);
  await f.mgr.remove(Id, { force: true });
});
