import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { NetworkError, NetworkManager } from '../../../worker/engine/network/index.js';
import { containerId, makeLab, startServer, tcpFrom } from './netns-harness.js';

test('published ports: reachable at the host address, at 127.0.0.1, from another host, by hairpin; egress is masqueraded; collisions are 409', async () => {
  const lab = makeLab();
  let nm: NetworkManager | undefined;
  try {
    nm = await NetworkManager.open({ stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [] });
    const net = await nm.create({ Name: `pub-${lab.prefix}` });
    const idWeb = containerId();
    const web = await nm.attach(idWeb, {
      networkMode: net.Name, name: 'web', hostname: 'web',
      portBindings: [
        { containerPort: 80, proto: 'tcp', hostIp: '', hostPort: '18080' },
        { containerPort: 80, proto: 'tcp', hostIp: '127.0.0.1', hostPort: '18081' },
        { containerPort: 81, proto: 'tcp', hostPort: '' },
        { containerPort: 82, proto: 'tcp', hostPort: '18090-18095' },
      ],
    });
    const webIp = web.endpoints[0]!.ipAddress;
    const gw = web.endpoints[0]!.gateway;
    await startServer(lab, web.netnsPath!, 80, 'web80');
    await startServer(lab, web.netnsPath!, 81, 'web81');
    await startServer(lab, web.netnsPath!, 82, 'web82');
    const eph = web.ports.find((p) => p.containerPort === 81)!.hostPort;
    assert.ok(eph >= 32768 && eph <= 60999, `ephemeral port ${eph}`);
    assert.equal(web.ports.find((p) => p.containerPort === 82)!.hostPort, 18090);

    const cliNs = `/run/netns/${lab.clientNs}`;
    // from another "host": the client netns reaches the host address; the client's address is kept
    assert.equal(await tcpFrom(cliNs, lab.hostAddr, 18080), `web80 from=${lab.clientAddr}`);
    assert.equal(await tcpFrom(cliNs, lab.hostAddr, eph), `web81 from=${lab.clientAddr}`);
    assert.equal(await tcpFrom(cliNs, lab.hostAddr, 18090), `web82 from=${lab.clientAddr}`);
    // a port published on 127.0.0.1 only is not reachable from outside
    assert.notEqual(await tcpFrom(cliNs, lab.hostAddr, 18081), `web80 from=${lab.clientAddr}`);
    // from the host itself: its own address and loopback (route_localnet + masquerade to the gateway)
    assert.match(await tcpFrom(lab.hostNsPath, lab.hostAddr, 18080), /^web80 from=/);
    assert.equal(await tcpFrom(lab.hostNsPath, '127.0.0.1', 18080), `web80 from=${gw}`);
    assert.equal(await tcpFrom(lab.hostNsPath, '127.0.0.1', 18081), `web80 from=${gw}`);
    // hairpin: the container reaches its own published port, and so does a neighbour
    assert.equal(await tcpFrom(web.netnsPath!, lab.hostAddr, 18080), `web80 from=${gw}`);
    const idNb = containerId();
    const nb = await nm.attach(idNb, { networkMode: net.Name, name: 'nb', hostname: 'nb', portBindings: [] });
    assert.match(await tcpFrom(nb.netnsPath!, lab.hostAddr, 18080), /^web80 from=/);
    // egress: a container reaches the other host, seen as the host's address
    await startServer(lab, cliNs, 9000, 'outside');
    assert.equal(await tcpFrom(web.netnsPath!, lab.clientAddr, 9000), `outside from=${lab.hostAddr}`);

    // the default bridge publishes too
    const idDef = containerId();
    const def = await nm.attach(idDef, { networkMode: 'bridge', name: 'def', hostname: 'def', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18082' }] });
    await startServer(lab, def.netnsPath!, 80, 'def80');
    assert.equal(await tcpFrom(cliNs, lab.hostAddr, 18082), `def80 from=${lab.clientAddr}`);

    // collision: 409 naming the port, and nothing left behind by the refused attach
    const idDup = containerId();
    await assert.rejects(
      nm.attach(idDup, { networkMode: net.Name, name: 'dup', hostname: 'dup', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18080' }] }),
      (e: unknown) => e instanceof NetworkError && e.status === 409 && /18080/.test(e.message),
    );
    assert.equal(existsSync(`/run/netns/${lab.prefix}-${idDup.slice(0, 12)}`), false);
    assert.equal(nm.getAttachment(idDup), undefined);
    // a different protocol on the same number is fine
    const idUdp = containerId();
    const u = await nm.attach(idUdp, { networkMode: net.Name, name: 'udp', hostname: 'udp', portBindings: [{ containerPort: 53, proto: 'udp', hostPort: '18080' }] });
    assert.equal(u.ports[0]!.hostPort, 18080);
    assert.equal(nm.inspect(net.Name).Containers[idWeb]!.IPv4Address, `${webIp}/24`);
  } finally {
    await nm?.close({ removeAll: true });
    lab.cleanup();
  }
});
