import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openFixture, runToExit, leftovers, type Fixture } from './engine-fixture.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

test('a 64 MB allocation in a 32 MB container is OOM-killed: exit 137, OOMKilled true', async () => {
  const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'head -c 64m /dev/zero | tail'], HostConfig: { NetworkMode: 'none', Memory: 32 * 1024 * 1024, MemorySwap: 32 * 1024 * 1024 } });
  assert.equal(r.code, 137);
  const j = f.mgr.inspect(r.id) as { State: { OOMKilled: boolean; ExitCode: number }; HostConfig: { Memory: number } };
  assert.equal(j.State.OOMKilled, true);
  assert.equal(j.HostConfig.Memory, 32 * 1024 * 1024);
  await f.mgr.remove(r.id);
  assert.deepEqual(await leftovers(f, r.id), []);
});

test('the pids limit holds: forks beyond it fail inside the container', async () => {
  const r = await runToExit(f.mgr, {
    Image: 'busybox',
    Cmd: ['sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max; sh -c "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 30 & done" 2>/dev/null; echo inner=$?; set -- /proc/[0-9]*; echo procs=$#'],
    HostConfig: { NetworkMode: 'none', PidsLimit: 8 },
  });
  assert.equal(r.code, 0, r.stderr);
  const [max, inner, procs] = r.stdout.trim().split('\n');
  assert.equal(max, '8');
  assert.notEqual(inner, 'inner=0', 'the 12 forks should not all succeed');
  const n = Number(procs?.split('=')[1]);
  assert.ok(n <= 8 && n >= 2, `expected at most 8 processes, got ${procs}`);
  await f.mgr.remove(r.id);
});

test('cpu quota from NanoCpus and shares land in the cgroup; stats report memory, cpu and pids', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none', NanoCpus: 500_000_000, CpuShares: 512, Memory: 64 * 1024 * 1024 } });
  await f.mgr.start(Id);
  const cg = `/sys/fs/cgroup/cpu/shoal-${f.prefix}/${Id}`;
  assert.equal(readFileSync(`${cg}/cpu.cfs_quota_us`, 'utf8').trim(), '50000');
  assert.equal(readFileSync(`${cg}/cpu.shares`, 'utf8').trim(), '512');
  const s = await f.mgr.io.stats(Id);
  assert.equal(s.memory_stats.limit, 64 * 1024 * 1024);
  assert.ok((s.memory_stats.usage ?? 0) > 0);
  assert.ok(s.cpu_stats.cpu_usage.total_usage > 0);
  assert.ok((s.cpu_stats.system_cpu_usage ?? 0) > 0);
  assert.equal(s.pids_stats.current, 1);
  assert.equal(s.name, `/${(f.mgr.inspect(Id) as { Name: string }).Name.slice(1)}`);
  await f.mgr.remove(Id, { force: true });
  assert.deepEqual(await leftovers(f, Id), []);
});
