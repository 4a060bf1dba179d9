import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openFixture, leftovers, type Fixture } from './engine-fixture.js';
import { EngineError } from '../../../worker/engine/container/errors.js';
import type { ContainerCreateBody } from '../../../worker/engine/container/types.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

const isStatus = (s: number, re?: RegExp) => (e: unknown): boolean => e instanceof EngineError && e.status === s && (!re || re.test(e.message));

async function assertNothingLeft(): Promise<void> {
  assert.deepEqual(await f.mgr.store.orphanDirs(), []);
}

test('unknown image is 404 and creates nothing', async () => {
  await assert.rejects(f.mgr.create({ Image: 'nope:1', Cmd: ['true'] }), isStatus(404, /No such image: nope:1/));
  await assertNothingLeft();
});

test('invalid memory, cpus, restart policy, missing command, binds, user, workdir are 400', async () => {
  const bad: [ContainerCreateBody, RegExp][] = [
    [{ Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: 1024 } }, /Minimum memory limit/],
    [{ Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: -5 } }, /invalid Memory/],
    [{ Image: 'busybox', Cmd: ['true'], HostConfig: { NanoCpus: 1e9, CpuQuota: 50000 } }, /Nano CPUs and CPU Quota/],
    [{ Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'sometimes' } } }, /invalid restart policy/],
    [{ Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'always' }, AutoRemove: true } }, /cannot specify both/],
    [{ Image: 'busybox', Entrypoint: [''], Cmd: [] }, /No command specified/],
    [{ Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['relative/path:/x'] } }, /invalid volume specification/],
    [{ Image: 'busybox', Cmd: ['true'], User: 'ghost' }, /unable to find user ghost/],
    [{ Image: 'busybox', Cmd: ['true'], WorkingDir: 'rel' }, /absolute path/],
  ];
  for (const [body, re] of bad) {
    await assert.rejects(f.mgr.create(body), isStatus(400, re), JSON.stringify(body));
  }
  await assertNothingLeft();
  assert.equal(f.mgr.store.all().length, 0);
});

test('duplicate name is 409; bad name 400; unknown container 404', async () => {
  const name = `dup${process.pid}`;
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, name);
  await assert.rejects(f.mgr.create({ Image: 'busybox', Cmd: ['true'] }, name), isStatus(409, /already in use/));
  await assert.rejects(f.mgr.create({ Image: 'busybox', Cmd: ['true'] }, 'bad name!'), isStatus(400, /Invalid container name/));
  assert.throws(() => f.mgr.inspect('no-such-container'), isStatus(404));
  assert.equal(f.mgr.resolveContainer(name).id, Id);
  assert.equal(f.mgr.resolveContainer(Id.slice(0, 8)).id, Id);
  await f.mgr.remove(name);
  assert.deepEqual(await leftovers(f, Id), []);
});

test('a command that does not exist fails start with 400 and leaves no cgroup, netns or runtime state', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['/no/such/binary'], HostConfig: { NetworkMode: 'none', Memory: 16 * 1024 * 1024 } });
  await assert.rejects(f.mgr.start(Id), isStatus(400));
  const st = (f.mgr.inspect(Id) as { State: { Status: string; Error: string } }).State;
  assert.equal(st.Status, 'created');
  assert.notEqual(st.Error, '');
  const left = await leftovers(f, Id);
  assert.deepEqual(left.filter((l) => l !== 'dir' && l !== 'mount'), []);
  await f.mgr.remove(Id);
  assert.deepEqual(await leftovers(f, Id), []);
});

test('removing a running container without force is 409; kill of a stopped one is 409', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none' } });
  await assert.rejects(f.mgr.kill(Id), isStatus(409));
  await f.mgr.start(Id);
  await assert.rejects(f.mgr.remove(Id), isStatus(409, /cannot remove a running container/));
  await f.mgr.remove(Id, { force: true });
  assert.deepEqual(await leftovers(f, Id), []);
});
