import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkError, NetworkManager } from '../../../worker/engine/network/index.js';
import { containerId, linkExistsIn, makeLab, mustSh, nslookup, nslookupAddresses, startServer, tcpFrom } from './netns-harness.js';

test('a reopened manager keeps networks, endpoints, addresses and published ports, re-creates missing bridges and serves DNS again', async () => {
  const lab = makeLab();
  let nm: NetworkManager | undefined;
  const opts = { stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [] };
  try {
    nm = await NetworkManager.open(opts);
    const net = await nm.create({ Name: `keep-${lab.prefix}`, Labels: { team: 'e3' } });
    const idA = containerId();
    const idB = containerId();
    const a = await nm.attach(idA, { networkMode: net.Name, name: 'a', hostname: 'a', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18200' }] });
    const b = await nm.attach(idB, { networkMode: net.Name, name: 'b', hostname: 'b', portBindings: [] });
    await nm.close();
    nm = undefined;
    // simulate a reboot of the bridge only: it is re-created on open
    mustSh(['ip', '-n', lab.hostNs, 'link', 'del', `${lab.prefix}br1`]);

    nm = await NetworkManager.open(opts);
    const again = nm.inspect(net.Name);
    assert.equal(again.Id, net.Id);
    assert.deepEqual(again.Labels, { team: 'e3' });
    assert.deepEqual(Object.keys(again.Containers).sort(), [idA, idB].sort());
    assert.ok(linkExistsIn(lab.hostNs, `${lab.prefix}br1`));
    assert.deepEqual(nm.list().map((n) => n.Name).sort(), ['bridge', 'host', `keep-${lab.prefix}`, 'none'].sort());
    // the surviving veths are enslaved to the re-created bridge: a and b talk again, DNS answers again
    await startServer(lab, a.netnsPath!, 7100, 'a7100');
    assert.equal(await tcpFrom(b.netnsPath!, a.endpoints[0]!.ipAddress, 7100), `a7100 from=${b.endpoints[0]!.ipAddress}`);
    assert.deepEqual(nslookupAddresses((await nslookup(b.netnsPath!, 'a')).out), [a.endpoints[0]!.ipAddress]);
    const idC = containerId();
    const c = await nm.attach(idC, { networkMode: net.Name, name: 'c', hostname: 'c', portBindings: [] });
    assert.ok(![a.endpoints[0]!.ipAddress, b.endpoints[0]!.ipAddress].includes(c.endpoints[0]!.ipAddress));
    await assert.rejects(
      nm.attach(containerId(), { networkMode: net.Name, name: 'd', hostname: 'd', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18200' }] }),
      (e: unknown) => e instanceof NetworkError && e.status === 409,
    );
    // detach + attach after the restart gives a working endpoint again
    await nm.detach(idA);
    const a2 = await nm.attach(idA, { networkMode: net.Name, name: 'a', hostname: 'a', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18200' }] });
    await startServer(lab, a2.netnsPath!, 80, 'a80');
    assert.notEqual(a2.netnsPath, undefined);
    assert.equal(await tcpFrom(`/run/netns/${lab.clientNs}`, lab.hostAddr, 18200), `a80 from=${lab.clientAddr}`);
  } finally {
    if (nm) await nm.close({ removeAll: true });
    else await (await NetworkManager.open(opts)).close({ removeAll: true });
    lab.cleanup();
  }
});
