import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planProcess, imageRunConfig, DEFAULT_PATH } from '../../../worker/engine/container/create-plan.js';
import { buildSpec, DEFAULT_CAPS, mergeEnv } from '../../../worker/engine/container/oci-spec.js';
import type { ContainerRecord } from '../../../worker/engine/container/types.js';

const id = 'a'.repeat(64);

test('entrypoint and cmd combine as Docker does', () => {
  const img = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['A=1'] };
  assert.deepEqual(planProcess(id, {}, img), { path: '/entry', args: ['default'], env: [`HOSTNAME=${id.slice(0, 12)}`, DEFAULT_PATH, 'A=1'], workingDir: '/', hostname: id.slice(0, 12) });
  assert.deepEqual(planProcess(id, { Cmd: ['x'] }, img).args, ['x']);
  const p = planProcess(id, { Entrypoint: ['/other'] }, img);
  assert.equal(p.path, '/other');
  assert.deepEqual(p.args, [], 'a new entrypoint drops the image Cmd');
  assert.equal(planProcess(id, { Entrypoint: [''], Cmd: ['ls'] }, img).path, 'ls');
  assert.equal(planProcess(id, { Cmd: 'echo' }, {}).path, 'echo');
});

test('env: request overrides image by key, PATH kept from the image', () => {
  assert.deepEqual(mergeEnv(['PATH=/x', 'A=1', 'B=2'], ['A=3', 'C']), ['PATH=/x', 'A=3', 'B=2']);
  const p = planProcess(id, { Env: ['A=9'], Hostname: 'h' }, { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'] });
  assert.deepEqual(p.env, ['HOSTNAME=h', 'PATH=/bin', 'A=9']);
});

test('image config is read from the whole OCI config file or its config object', () => {
  assert.deepEqual(imageRunConfig({ id: 'x', config: { config: { Cmd: ['sh'] }, rootfs: {} } }).Cmd, ['sh']);
  assert.deepEqual(imageRunConfig({ id: 'x', config: { Cmd: ['sh'] } }).Cmd, ['sh']);
  assert.deepEqual(imageRunConfig({ id: 'x', config: null }), {});
});

test('spec: default caps, masked paths, limits, cgroup path, net namespace path or host network', () => {
  const r = {
    id, name: 'n', hostname: 'h', path: '/bin/sh', args: ['-c', 'true'], env: ['A=1'], workingDir: '/', mounts: [{ type: 'bind', source: '/src', destination: '/dst', readOnly: true, hostPath: '/src' }],
    user: { uid: 1, gid: 2, additionalGids: [], spec: '1:2' },
    config: { HostConfig: { Memory: 32 << 20, NanoCpus: 1_500_000_000, CpuShares: 256, PidsLimit: 10, CapDrop: ['NET_RAW'], CapAdd: ['SYS_ADMIN'] } },
  } as unknown as ContainerRecord;
  const s = buildSpec({ record: r, rootfs: '/r', netnsPath: '/run/netns/x', cgroupsPath: '/shoal-p/' + id, etcFiles: { hosts: '/h', resolvConf: '/rc', hostname: '/hn' }, swapAccounting: true }) as {
    process: { capabilities: { bounding: string[] }; user: { uid: number } };
    linux: { resources: { memory: { limit: number; swap: number }; cpu: { quota: number; period: number; shares: number }; pids: { limit: number } }; namespaces: { type: string; path?: string }[]; maskedPaths: string[]; cgroupsPath: string };
    mounts: { destination: string; options?: string[] }[];
  };
  assert.equal(DEFAULT_CAPS.length, 14);
  assert.ok(!s.process.capabilities.bounding.includes('CAP_NET_RAW'));
  assert.ok(s.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.equal(s.process.user.uid, 1);
  assert.deepEqual(s.linux.resources.memory, { limit: 32 << 20, swap: 64 << 20 });
  assert.deepEqual(s.linux.resources.cpu, { shares: 256, period: 100_000, quota: 150_000 });
  assert.deepEqual(s.linux.resources.pids, { limit: 10 });
  assert.deepEqual(s.linux.namespaces.find((n) => n.type === 'network'), { type: 'network', path: '/run/netns/x' });
  assert.ok(s.linux.maskedPaths.includes('/proc/kcore'));
  assert.equal(s.linux.cgroupsPath, `/shoal-p/${id}`);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/dst')?.options, ['rbind', 'rprivate', 'ro']);
  const host = buildSpec({ record: r, rootfs: '/r', netnsPath: undefined, cgroupsPath: 'x', etcFiles: { hosts: '/h', resolvConf: '/rc', hostname: '/hn' }, swapAccounting: false }) as typeof s;
  assert.equal(host.linux.namespaces.some((n) => n.type === 'network'), false);
});
