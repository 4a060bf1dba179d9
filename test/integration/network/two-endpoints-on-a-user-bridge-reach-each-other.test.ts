import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkManager } from '../../../worker/engine/network/index.js';
import { containerId, linkMtu, makeLab, startServer, tcpFrom } from './netns-harness.js';

test('two containers on one user bridge reach each other over TCP, with the configured MTU on both veth ends', async () => {
  const lab = makeLab();
  let nm: NetworkManager | undefined;
  try {
    nm = await NetworkManager.open({ stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1400, dnsUpstreams: [] });
    const net = await nm.create({ Name: `front-${lab.prefix}` });
    assert.equal(net.Driver, 'bridge');
    const idA = containerId();
    const idB = containerId();
    const a = await nm.attach(idA, { networkMode: net.Name, name: 'a', hostname: 'a', portBindings: [] });
    const b = await nm.attach(idB, { networkMode: net.Name, name: 'b', hostname: 'b', portBindings: [] });
    assert.ok(a.netnsPath && b.netnsPath);
    const ipA = a.endpoints[0]!.ipAddress;
    const ipB = b.endpoints[0]!.ipAddress;
    assert.notEqual(ipA, ipB);
    assert.equal(a.endpoints[0]!.gateway, net.IPAM.Config[0]!.Gateway);

    await startServer(lab, a.netnsPath, 7001, 'srvA');
    await startServer(lab, b.netnsPath, 7002, 'srvB');
    assert.equal(await tcpFrom(b.netnsPath, ipA, 7001), `srvA from=${ipB}`);
    assert.equal(await tcpFrom(a.netnsPath, ipB, 7002), `srvB from=${ipA}`);
    // the host reaches containers through the bridge gateway
    assert.match(await tcpFrom(lab.hostNsPath, ipA, 7001), /^srvA from=/);

    const nsA = a.netnsPath.split('/').pop()!;
    const hostVethA = (await import('node:child_process')).execFileSync('ip', ['-n', lab.hostNs, '-j', 'link', 'show', 'master', `${lab.prefix}br1`], { encoding: 'utf8' });
    const vethNames = (JSON.parse(hostVethA) as { ifname: string }[]).map((l) => l.ifname);
    assert.equal(vethNames.length, 2);
    for (const v of vethNames) assert.equal(linkMtu(lab.hostNs, v), 1400);
    assert.equal(linkMtu(nsA, 'eth0'), 1400);
    assert.equal(linkMtu(b.netnsPath.split('/').pop()!, 'eth0'), 1400);
    assert.equal(linkMtu(lab.hostNs, `${lab.prefix}br1`), 1400);
  } finally {
    await nm?.close({ removeAll: true });
    lab.cleanup();
  }
});
