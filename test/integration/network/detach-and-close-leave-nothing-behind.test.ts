import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { NetworkError, NetworkManager } from '../../../worker/engine/network/index.js';
import { containerId, linkExistsIn, makeLab, mustSh, nftTableIn } from './netns-harness.js';

function hostLinks(ns: string): string[] {
  return (JSON.parse(mustSh(['ip', '-n', ns, '-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);
}

test('detach removes the veth, netns, published-port rules and address; a network with endpoints cannot be removed; close({removeAll}) leaves nothing', async () => {
  const lab = makeLab();
  let nm: NetworkManager | undefined;
  try {
    nm = await NetworkManager.open({ stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [] });
    const table = `shoal_${lab.prefix}`;
    assert.ok(nftTableIn(lab.hostNs, table), 'the table exists once the default bridge does');
    const net = await nm.create({ Name: `gone-${lab.prefix}`, IPAM: { Config: [{ Subnet: '10.77.5.0/24', IPRange: '10.77.5.128/25' }] } });
    assert.equal(net.IPAM.Config[0]!.Gateway, '10.77.5.1');
    const id = containerId();
    const a = await nm.attach(id, { networkMode: net.Name, name: 'x', hostname: 'x', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18123' }] });
    assert.ok(a.endpoints[0]!.ipAddress.startsWith('10.77.5.'));
    assert.ok(Number(a.endpoints[0]!.ipAddress.split('.')[3]) >= 128, 'address comes from the ip-range');
    const nsName = a.netnsPath!.split('/').pop()!;
    assert.equal(nsName, `${lab.prefix}-${id.slice(0, 12)}`);
    const vethsBefore = hostLinks(lab.hostNs).filter((l) => l.startsWith(`${lab.prefix}v`));
    assert.equal(vethsBefore.length, 1);
    assert.match(nftTableIn(lab.hostNs, table)!, /18123/);

    await assert.rejects(nm.remove(net.Name), (e: unknown) => e instanceof NetworkError && e.status === 409 && /active endpoints/.test(e.message));
    await assert.rejects(nm.remove('bridge'), (e: unknown) => e instanceof NetworkError && e.status === 403);
    await assert.rejects(nm.create({ Name: `clash-${lab.prefix}`, IPAM: { Config: [{ Subnet: '10.77.0.0/16' }] } }), (e: unknown) => e instanceof NetworkError && e.status === 403);
    await assert.rejects(nm.create({ Name: net.Name }), (e: unknown) => e instanceof NetworkError && e.status === 409);

    await nm.detach(id);
    await nm.detach(id); // idempotent
    assert.equal(existsSync(a.netnsPath!), false, 'netns deleted');
    assert.equal(linkExistsIn(lab.hostNs, vethsBefore[0]!), false, 'host veth deleted');
    assert.doesNotMatch(nftTableIn(lab.hostNs, table)!, /18123/, 'published port rule removed');
    assert.deepEqual(nm.inspect(net.Name).Containers, {});
    // the address and the port are free again
    const again = await nm.attach(id, { networkMode: net.Name, name: 'x', hostname: 'x', portBindings: [{ containerPort: 80, proto: 'tcp', hostPort: '18123' }], extraNetworks: [{ network: net.Name, aliases: [], ipv4Address: a.endpoints[0]!.ipAddress }] });
    assert.equal(again.endpoints[0]!.ipAddress, a.endpoints[0]!.ipAddress);
    await nm.detach(id);

    await nm.remove(net.Name);
    assert.equal(linkExistsIn(lab.hostNs, `${lab.prefix}br1`), false, 'bridge deleted with its network');
    assert.throws(() => nm!.inspect(net.Name), (e: unknown) => e instanceof NetworkError && e.status === 404);

    // none: no netns of the engine's (the runtime makes a new, empty one); host: no netns at all
    const idNone = containerId();
    const none = await nm.attach(idNone, { networkMode: 'none', name: 'n', hostname: 'n', portBindings: [] });
    assert.equal(none.netnsPath, undefined);
    assert.equal(none.newNetns, true);
    assert.deepEqual(none.endpoints, []);
    const idHost = containerId();
    const host = await nm.attach(idHost, { networkMode: 'host', name: 'h', hostname: 'h', portBindings: [] });
    assert.equal(host.netnsPath, undefined);
    // leave a few things attached, then close with removeAll
    await nm.create({ Name: `left-${lab.prefix}` });
    await nm.attach(containerId(), { networkMode: `left-${lab.prefix}`, name: 'l', hostname: 'l', portBindings: [{ containerPort: 1, proto: 'udp', hostPort: '0' }] });
    await nm.close({ removeAll: true });
    nm = undefined;
    assert.deepEqual(hostLinks(lab.hostNs).filter((l) => l.startsWith(lab.prefix)), []);
    assert.deepEqual(readdirSync('/run/netns').filter((n) => n.startsWith(`${lab.prefix}-`) && n !== lab.hostNs && n !== lab.clientNs), []);
    assert.equal(nftTableIn(lab.hostNs, table), undefined);
  } finally {
    await nm?.close({ removeAll: true });
    lab.cleanup();
  }
});
