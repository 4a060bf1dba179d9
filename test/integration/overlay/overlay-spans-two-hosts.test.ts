// Two "hosts" (network namespaces joined by a veth underlay), each with its own NetworkManager, share
// swarm overlays: VXLAN with static forwarding entries carries TCP between containers on different
// hosts at the overlay MTU (underlay − 50), overlays stay isolated from each other, service VIPs spread
// connections over their backends without IPVS, the swarm's names resolve, and a reopened manager
// re-creates a lost VXLAN device with its peers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NetworkManager } from '../../../worker/engine/network/index.js';
import { containerId, linkMtu, makeLab, mustSh, nslookup, nslookupAddresses, shAsync, startServer, tcpFrom } from '../network/netns-harness.js';

const swarmId = (): string => randomBytes(16).toString('hex').slice(0, 25);

test('overlay networks across two hosts: reachability at the overlay MTU, isolation, VIP balancing, swarm DNS, restore', async () => {
  const lab = makeLab();
  const prefixB = `u${lab.prefix.slice(1)}`;
  const hostA = lab.hostAddr;
  const hostB = lab.clientAddr;
  const nets: NetworkManager[] = [];
  const r = randomBytes(2);
  const appNet = `10.${200 + (r[0]! % 50)}.${r[1]!}`;
  const otherNet = `10.${200 + (r[0]! % 50)}.${(r[1]! + 1) % 256}`;
  const app = { id: swarmId(), name: `app-${lab.prefix}`, vni: 4096 + (r.readUInt16BE(0) % 10000), subnet: `${appNet}.0/24`, gateway: `${appNet}.1` };
  const other = { id: swarmId(), name: `other-${lab.prefix}`, vni: app.vni + 1, subnet: `${otherNet}.0/24`, gateway: `${otherNet}.1` };
  try {
    let nmA = await NetworkManager.open({ stateDir: `${lab.stateDir}/a`, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [], overlayLocalAddr: hostA });
    nets.push(nmA);
    const nmB = await NetworkManager.open({ stateDir: `${lab.stateDir}/b`, prefix: prefixB, hostNetns: lab.clientNs, mtu: 1500, dnsUpstreams: [], overlayLocalAddr: hostB });
    nets.push(nmB);

    const recA = await nmA.ensureOverlay(app);
    assert.equal(recA.Driver, 'overlay');
    assert.equal(recA.Scope, 'swarm');
    assert.equal(recA.Options['com.docker.network.driver.overlay.vxlanid_list'], String(app.vni));
    assert.equal((await nmA.ensureOverlay(app)).Id, app.id, 'ensuring the same overlay again is a no-op');
    await assert.rejects(nmA.ensureOverlay({ ...app, vni: app.vni + 7 }), /exists on this node with VXLAN ID/);
    await assert.rejects(nmA.ensureOverlay({ ...app, id: swarmId(), name: `x-${lab.prefix}` }), /VXLAN ID .* already used/);
    await nmB.ensureOverlay(app);
    await nmA.ensureOverlay(other);
    await nmB.ensureOverlay(other);

    const attach = (nm: NetworkManager, net: string, ip: string, name: string) =>
      nm.attach(containerId(), { networkMode: net, extraNetworks: [{ network: net, aliases: [], ipv4Address: ip }], name, hostname: name, portBindings: [] });
    const a1 = await attach(nmA, app.name, `${appNet}.10`, 'a1');
    const b1 = await attach(nmB, app.name, `${appNet}.11`, 'b1');
    const b2 = await attach(nmB, app.name, `${appNet}.12`, 'b2');
    const a9 = await attach(nmA, other.name, `${otherNet}.10`, 'a9');
    const b9 = await attach(nmB, other.name, `${otherNet}.11`, 'b9');
    const ep = (x: typeof a1) => x.endpoints.find((e) => e.networkName !== 'bridge')!;
    assert.deepEqual(a1.endpoints.map((e) => e.networkName), [app.name, 'bridge'], 'an overlay-only container also gets the default bridge for its way out');
    const nsOf = (x: typeof a1) => x.netnsPath!.split('/').pop()!;
    assert.equal(linkMtu(nsOf(a1), 'eth0'), 1450, 'overlay endpoints get the underlay MTU minus 50');

    const peer = (x: typeof a1, vtep: string) => ({ ip: ep(x).ipAddress, mac: ep(x).macAddress, vtep });
    await nmA.setOverlayPeers(app.id, [peer(b1, hostB), peer(b2, hostB), peer(a1, hostA)]);
    await nmB.setOverlayPeers(app.id, [peer(a1, hostA)]);
    await nmA.setOverlayPeers(other.id, [peer(b9, hostB)]);
    await nmB.setOverlayPeers(other.id, [peer(a9, hostA)]);

    await startServer(lab, b1.netnsPath!, 7000, 'b1');
    await startServer(lab, b2.netnsPath!, 7000, 'b2');
    await startServer(lab, b9.netnsPath!, 7000, 'b9');
    assert.equal(await tcpFrom(a1.netnsPath!, `${appNet}.11`, 7000), `b1 from=${appNet}.10`);
    assert.equal(await tcpFrom(a1.netnsPath!, `${appNet}.12`, 7000), `b2 from=${appNet}.10`);
    assert.equal(await tcpFrom(a9.netnsPath!, `${otherNet}.11`, 7000), `b9 from=${otherNet}.10`);

    // a 1400-byte ping with DF set crosses; a packet over the overlay MTU is refused locally
    const ping = (size: number) => shAsync(['nsenter', `--net=${a1.netnsPath!}`, 'ping', '-c', '1', '-W', '3', '-M', 'do', '-s', String(size), `${appNet}.11`]);
    const ok = await ping(1400 - 28);
    assert.equal(ok.code, 0, ok.out);
    const big = await ping(1450 - 28 + 1);
    assert.notEqual(big.code, 0, big.out);

    // isolation: app cannot reach other, neither on the remote host nor on its own
    assert.match(await tcpFrom(a1.netnsPath!, `${otherNet}.11`, 7000), /^(TIMEOUT|ERROR)/);
    await startServer(lab, a9.netnsPath!, 7001, 'a9');
    assert.match(await tcpFrom(a1.netnsPath!, `${otherNet}.10`, 7001), /^(TIMEOUT|ERROR)/);

    // a VIP spreads new connections over its backends; one with no backend is refused at once
    const vip = `${appNet}.2`;
    const emptyVip = `${appNet}.3`;
    await nmA.setServiceVips(app.id, [{ vip, backends: [`${appNet}.11`, `${appNet}.12`] }, { vip: emptyVip, backends: [] }]);
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const tag = (await tcpFrom(a1.netnsPath!, vip, 7000)).split(' ')[0]!;
      seen.set(tag, (seen.get(tag) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['b1', 'b2'], `30 connections to the VIP: ${JSON.stringify([...seen])}`);
    assert.match(await tcpFrom(a1.netnsPath!, emptyVip, 7000), /^ERROR/);
    await assert.rejects(nmA.setServiceVips(app.id, [{ vip: `${otherNet}.2`, backends: [] }]), /outside/);

    // the swarm's names: the service resolves to its VIP, tasks.<service> to its tasks
    await nmA.setOverlayRecords(app.id, { web: [vip], 'tasks.web': [`${appNet}.11`, `${appNet}.12`] });
    assert.deepEqual(nslookupAddresses((await nslookup(a1.netnsPath!, 'web')).out), [vip]);
    assert.deepEqual(nslookupAddresses((await nslookup(a1.netnsPath!, 'tasks.web')).out).sort(), [`${appNet}.11`, `${appNet}.12`]);
    assert.notEqual((await nslookup(a9.netnsPath!, 'web')).code, 0, 'names of app are not visible on other');

    // a task gone from the peer list is no longer reachable
    await nmA.setOverlayPeers(app.id, [peer(b1, hostB)]);
    assert.match(await tcpFrom(a1.netnsPath!, `${appNet}.12`, 7000), /^(TIMEOUT|ERROR)/);
    await assert.rejects(nmA.setOverlayPeers(app.id, [{ ip: `${otherNet}.5`, mac: '02:42:0a:00:00:05', vtep: hostB }]), /outside/);

    // restore: a lost VXLAN device comes back with its peers when the manager reopens
    await nmA.close();
    nets.shift();
    const vx = `${lab.prefix}vx0`;
    mustSh(['ip', '-n', lab.hostNs, 'link', 'del', vx]);
    nmA = await NetworkManager.open({ stateDir: `${lab.stateDir}/a`, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [], overlayLocalAddr: hostA });
    nets.unshift(nmA);
    assert.equal(await tcpFrom(a1.netnsPath!, `${appNet}.11`, 7000), `b1 from=${appNet}.10`);

    await assert.rejects(nmA.remove(app.id), /active endpoints/);
  } finally {
    for (const nm of nets) await nm.close({ removeAll: true }).catch(() => undefined);
    lab.cleanup();
  }
});
