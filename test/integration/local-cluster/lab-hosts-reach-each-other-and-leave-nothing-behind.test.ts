import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { downHosts, readLab, upHosts } from '../../../deploy/cluster/hosts.js';

function pingFrom(nsPath: string, addr: string): boolean {
  const r = spawnSync('nsenter', [`--net=${nsPath}`, '/bin/busybox', 'ping', '-c', '1', '-W', '2', addr], { timeout: 10_000 });
  return r.status === 0;
}

function labNetns(name: string): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`${name}-`)) : [];
}

test('the local lab: hosts reach each other, a second up is idempotent and repairs a lost host, down leaves nothing', async () => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces)');
  if (!existsSync('/bin/busybox')) throw new Error('this test needs busybox-static (/bin/busybox): run deploy/setup-host.sh');
  const name = `l${randomBytes(2).toString('hex')}`;
  const stateRoot = mkdtempSync(join(tmpdir(), 'shoal-lab-'));
  try {
    const lab = await upHosts({ name, hosts: 3, stateRoot });
    assert.equal(lab.hosts.length, 3);
    assert.deepEqual(labNetns(name).sort(), [`${name}-h1`, `${name}-h2`, `${name}-h3`, `${name}-sw`]);
    assert.ok(pingFrom(lab.hosts[0]!.netnsPath, lab.hosts[2]!.addr), 'h1 reaches h3');
    assert.ok(pingFrom(lab.hosts[2]!.netnsPath, lab.hosts[1]!.addr), 'h3 reaches h2');
    assert.deepEqual(readLab(stateRoot, name), lab);

    // the machine's own namespace got nothing: no link named after the lab
    const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
    assert.ok(!links.includes(`${name}`), 'no link in the root namespace');

    // a lost host is rebuilt, a complete one kept
    spawnSync('ip', ['netns', 'del', `${name}-h2`]);
    const again = await upHosts({ name, hosts: 3, stateRoot });
    assert.deepEqual(again, lab);
    assert.ok(pingFrom(lab.hosts[0]!.netnsPath, lab.hosts[1]!.addr), 'h1 reaches the rebuilt h2');

    // shrinking removes the extra host
    await upHosts({ name, hosts: 2, stateRoot });
    assert.deepEqual(labNetns(name).sort(), [`${name}-h1`, `${name}-h2`, `${name}-sw`]);
  } finally {
    await downHosts(stateRoot, name, { purge: true });
    rmSync(stateRoot, { recursive: true, force: true });
  }
  assert.deepEqual(labNetns(name), []);
});

test('the lab refuses a bad name or host count with a message naming the field', async () => {
  await assert.rejects(upHosts({ name: 'Bad-Name', hosts: 1, stateRoot: tmpdir() }), /lab name/);
  await assert.rejects(upHosts({ name: 'ok', hosts: 0, stateRoot: tmpdir() }), /hosts must be/);
});
