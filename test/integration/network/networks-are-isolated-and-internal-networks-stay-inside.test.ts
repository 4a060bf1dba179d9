import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkManager } from '../../../worker/engine/network/index.js';
import { containerId, makeLab, startServer, tcpFrom } from './netns-harness.js';

test('containers on different bridges cannot reach each other directly; an internal network has no way out but works inside', async () => {
  const lab = makeLab();
  let nm: NetworkManager | undefined;
  try {
    nm = await NetworkManager.open({ stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [] });
    const n1 = await nm.create({ Name: `iso1-${lab.prefix}` });
    const n2 = await nm.create({ Name: `iso2-${lab.prefix}` });
    const inner = await nm.create({ Name: `inner-${lab.prefix}`, Internal: true });
    const a = await nm.attach(containerId(), { networkMode: n1.Name, name: 'a', hostname: 'a', portBindings: [] });
    const b = await nm.attach(containerId(), { networkMode: n2.Name, name: 'b', hostname: 'b', portBindings: [{ containerPort: 7300, proto: 'tcp', hostPort: '17300' }] });
    const i1 = await nm.attach(containerId(), { networkMode: inner.Name, name: 'i1', hostname: 'i1', portBindings: [] });
    const i2 = await nm.attach(containerId(), { networkMode: inner.Name, name: 'i2', hostname: 'i2', portBindings: [] });
    await startServer(lab, b.netnsPath!, 7300, 'b');
    await startServer(lab, i2.netnsPath!, 7301, 'i2');
    await startServer(lab, `/run/netns/${lab.clientNs}`, 7302, 'outside');

    assert.notEqual(await tcpFrom(a.netnsPath!, b.endpoints[0]!.ipAddress, 7300), `b from=${a.endpoints[0]!.ipAddress}`, 'bridge-to-bridge traffic is dropped');
    assert.match(await tcpFrom(a.netnsPath!, lab.hostAddr, 17300), /^b from=/, 'a published port of another network is reachable (as Docker)');
    assert.equal(await tcpFrom(i1.netnsPath!, i2.endpoints[0]!.ipAddress, 7301), `i2 from=${i1.endpoints[0]!.ipAddress}`);
    assert.notEqual(await tcpFrom(i1.netnsPath!, lab.clientAddr, 7302), `outside from=${lab.hostAddr}`, 'internal network has no egress');
    assert.equal(await tcpFrom(a.netnsPath!, lab.clientAddr, 7302), `outside from=${lab.hostAddr}`, 'a normal network has egress');
  } finally {
    await nm?.close({ removeAll: true });
    lab.cleanup();
  }
});
