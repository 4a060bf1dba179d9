import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NetworkManager } from '../../../worker/engine/network/index.js';
import { ContainerManager } from '../../../worker/engine/container/container-manager.js';
import { VolumeStore } from '../../../worker/engine/volume/volume-store.js';
import { makeLab } from '../network/netns-harness.js';
import { BusyboxImages, makeBusyboxLayer, runToExit } from './engine-fixture.js';
import { removeCgroup } from '../../../worker/engine/runtime/cgroups.js';

test('with the real NetworkManager: containers on the default bridge get an address, /etc/hosts, and reach each other', async () => {
  const lab = makeLab();
  const base = mkdtempSync('/tmp/shoal-ctnet-');
  let nm: NetworkManager | undefined;
  let mgr: ContainerManager | undefined;
  try {
    makeBusyboxLayer(join(base, 'layer'));
    nm = await NetworkManager.open({ stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, dnsUpstreams: [] });
    mgr = await ContainerManager.open({
      dataRoot: join(base, 'data'),
      execRoot: join(base, 'exec'),
      prefix: lab.prefix,
      images: new BusyboxImages([join(base, 'layer')]),
      networks: nm,
      volumes: await VolumeStore.open(join(base, 'data', 'volumes')),
    });
    const server = await mgr.create({ Image: 'busybox', Hostname: 'srv', Cmd: ['sh', '-c', 'while true; do echo pong | nc -l -p 7000; done'], HostConfig: { NetworkMode: 'bridge' } }, `srv-${lab.prefix}`);
    await mgr.start(server.Id);
    const ins = mgr.inspect(server.Id) as { NetworkSettings: { IPAddress: string; Networks: Record<string, { IPAddress: string }> } };
    const ip = ins.NetworkSettings.Networks['bridge']?.IPAddress ?? ins.NetworkSettings.IPAddress;
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    const client = await runToExit(mgr, {
      Image: 'busybox',
      Cmd: ['sh', '-c', `ip -4 -o addr show eth0 | grep -c inet; grep -c "$(hostname)" /etc/hosts; ping -c 1 -W 2 ${ip} >/dev/null && echo ping-ok; for i in 1 2 3 4 5; do r=$(echo hi | nc -w 2 ${ip} 7000) && [ -n "$r" ] && echo $r && break; sleep 0.2; done`],
      HostConfig: { NetworkMode: 'bridge' },
    });
    assert.equal(client.code, 0, client.stderr);
    assert.deepEqual(client.stdout.trim().split('\n'), ['1', '1', 'ping-ok', 'pong']);
    await mgr.remove(client.id);
    await mgr.remove(server.Id, { force: true });
    assert.equal(nm.getAttachment(server.Id), undefined, 'remove detaches the container from its networks');
  } finally {
    if (mgr) {
      for (const r of mgr.store.all()) await mgr.remove(r.id, { force: true }).catch(() => undefined);
      mgr.close();
    }
    await nm?.close({ removeAll: true });
    await removeCgroup('/', `shoal-${lab.prefix}`); // the manager leaves its parent cgroup (an engine removes it on destroy)
    lab.cleanup();
    rmSync(base, { recursive: true, force: true });
  }
});
