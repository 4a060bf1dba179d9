import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkManager } from '../../../worker/engine/network/index.js';
import { containerId, linkMtu, makeLab, mustSh, startUdpEcho, tcpDnsFrom, udpFrom } from './netns-harness.js';

test('UDP ports publish, the embedded DNS answers over TCP, and the default MTU is the default-route interface MTU', async () => {
  const lab = makeLab();
  // the host netns' default route goes out through an uplink with MTU 1450
  mustSh(['ip', '-n', lab.hostNs, 'link', 'set', 'uplink', 'mtu', '1450']);
  mustSh(['ip', '-n', lab.clientNs, 'link', 'set', 'eth0', 'mtu', '1450']);
  mustSh(['ip', '-n', lab.hostNs, 'route', 'add', 'default', 'via', lab.clientAddr]);
  let nm: NetworkManager | undefined;
  try {
    nm = await NetworkManager.open({ stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, dnsUpstreams: [] });
    const net = await nm.create({ Name: `udp-${lab.prefix}` });
    const dns = await nm.attach(containerId(), { networkMode: net.Name, name: 'dns', hostname: 'dns', portBindings: [{ containerPort: 5300, proto: 'udp', hostPort: '15300' }] });
    const asker = await nm.attach(containerId(), { networkMode: net.Name, name: 'asker', hostname: 'asker', portBindings: [] });
    const nsDns = dns.netnsPath!.split('/').pop()!;
    assert.equal(linkMtu(nsDns, 'eth0'), 1450);
    assert.equal(linkMtu(lab.hostNs, `${lab.prefix}br1`), 1450);
    assert.equal(nm.inspect('bridge').Options['com.docker.network.driver.mtu'], '1450');

    await startUdpEcho(lab, dns.netnsPath!, 5300);
    assert.equal(await udpFrom(`/run/netns/${lab.clientNs}`, lab.hostAddr, 15300, 'ping'), `ping from=${lab.clientAddr}`);
    assert.equal(await tcpDnsFrom(asker.netnsPath!, 'dns'), dns.endpoints[0]!.ipAddress);
    assert.equal(await tcpDnsFrom(asker.netnsPath!, 'nope'), 'rcode=3');
  } finally {
    await nm?.close({ removeAll: true });
    lab.cleanup();
  }
});
