import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { NetworkManager } from '../../../worker/engine/network/index.js';
import { decodeMessage, encodeResponse, RCODE } from '../../../worker/engine/network/dns-codec.js';
import { containerId, makeLab, nslookup, nslookupAddresses } from './netns-harness.js';

test('embedded DNS at 127.0.0.11: names, aliases and short ids on shared user networks only; others forwarded or NXDOMAIN', async () => {
  const lab = makeLab();
  // A fake upstream resolver on loopback: knows external.example only.
  const upstream = createSocket('udp4');
  upstream.on('message', (m, r) => {
    const q = decodeMessage(m);
    const known = q.questions[0]?.name === 'external.example';
    upstream.send(encodeResponse(q, known ? RCODE.NOERROR : RCODE.NXDOMAIN, known ? ['203.0.113.7'] : []), r.port, r.address);
  });
  await new Promise<void>((res) => upstream.bind(0, '127.0.0.1', () => res()));
  let nm: NetworkManager | undefined;
  try {
    nm = await NetworkManager.open({ stateDir: lab.stateDir, prefix: lab.prefix, hostNetns: lab.hostNs, mtu: 1500, dnsUpstreams: [`127.0.0.1:${upstream.address().port}`] });
    const front = await nm.create({ Name: `front-${lab.prefix}` });
    const back = await nm.create({ Name: `back-${lab.prefix}` });
    const idWeb = containerId();
    const idCli = containerId();
    const idOther = containerId();
    const idDef = containerId();
    const web = await nm.attach(idWeb, { networkMode: front.Name, extraNetworks: [{ network: front.Name, aliases: ['www'] }], name: '/web', hostname: 'webhost', portBindings: [] });
    const cli = await nm.attach(idCli, { networkMode: front.Name, name: 'cli', hostname: 'cli', portBindings: [] });
    const other = await nm.attach(idOther, { networkMode: back.Name, name: 'other', hostname: 'other', portBindings: [] });
    const def = await nm.attach(idDef, { networkMode: 'bridge', name: 'def', hostname: 'def', portBindings: [] });
    const webIp = web.endpoints[0]!.ipAddress;

    assert.equal(cli.resolvConf.split('\n')[0], 'nameserver 127.0.0.11');
    assert.doesNotMatch(def.resolvConf, /127\.0\.0\.11/, 'the default bridge uses the host resolvers, as Docker does');
    assert.match(def.hostsFile, new RegExp(`^${def.endpoints[0]!.ipAddress.replace(/\./g, '\\.')}\\tdef$`, 'm'));
    assert.match(web.hostsFile, new RegExp(`^${webIp.replace(/\./g, '\\.')}\\twebhost web$`, 'm'));

    for (const name of ['web', 'www', idWeb.slice(0, 12), 'WEB']) {
      const r = await nslookup(cli.netnsPath!, name);
      assert.deepEqual(nslookupAddresses(r.out), [webIp], `lookup of ${name}: ${r.out}`);
    }
    const unknown = await nslookup(cli.netnsPath!, 'nope');
    assert.match(unknown.out, /NXDOMAIN/);
    const forwarded = await nslookup(cli.netnsPath!, 'external.example');
    assert.deepEqual(nslookupAddresses(forwarded.out), ['203.0.113.7'], forwarded.out);

    // a container on another network cannot resolve web
    const scoped = await nslookup(other.netnsPath!, 'web');
    assert.match(scoped.out, /NXDOMAIN/, scoped.out);
    assert.deepEqual(nslookupAddresses(scoped.out), []);

    // after connect, the other container resolves web too; after disconnect, not any more
    await nm.connect(front.Name, idOther, ['o2']);
    assert.deepEqual(nslookupAddresses((await nslookup(other.netnsPath!, 'web')).out), [webIp]);
    const o2 = nm.getAttachment(idOther)!.endpoints.find((e) => e.networkName === front.Name)!.ipAddress;
    assert.deepEqual(nslookupAddresses((await nslookup(cli.netnsPath!, 'o2')).out), [o2]);
    await nm.disconnect(front.Name, idOther);
    assert.match((await nslookup(other.netnsPath!, 'web')).out, /NXDOMAIN/);
  } finally {
    await nm?.close({ removeAll: true });
    upstream.close();
    lab.cleanup();
  }
});
