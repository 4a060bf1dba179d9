import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toNetworkSettings, toPortList } from '../../../worker/engine/network/network-settings.js';
import type { Attachment } from '../../../worker/engine/network/types.js';

const att: Attachment = {
  netnsPath: '/run/netns/sh1a-0123456789ab',
  endpoints: [
    { networkId: 'n1', networkName: 'bridge', endpointId: 'e1', ipAddress: '172.30.0.2', prefixLen: 16, gateway: '172.30.0.1', macAddress: '02:42:ac:1e:00:02', aliases: [] },
    { networkId: 'n2', networkName: 'front', endpointId: 'e2', ipAddress: '172.31.0.5', prefixLen: 24, gateway: '172.31.0.1', macAddress: '02:42:ac:1f:00:05', aliases: ['web'] },
  ],
  hostsFile: '',
  resolvConf: '',
  ports: [{ containerPort: 80, proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }],
};

test('NetworkSettings: Ports keyed "80/tcp" with string host ports, exposed-only ports null, default-bridge fields on top', () => {
  const s = toNetworkSettings(att, ['80/tcp', '443/tcp']);
  assert.deepEqual(s.Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null });
  assert.equal(s.IPAddress, '172.30.0.2');
  assert.equal(s.IPPrefixLen, 16);
  assert.equal(s.SandboxKey, att.netnsPath);
  assert.deepEqual(Object.keys(s.Networks), ['bridge', 'front']);
  assert.deepEqual(s.Networks['front']!.Aliases, ['web']);
  assert.equal(s.Networks['bridge']!.Aliases, null);
  assert.equal(toNetworkSettings(undefined).IPAddress, '');
});

test('the containers list shows published and exposed-only ports', () => {
  assert.deepEqual(toPortList(att, ['80/tcp', '53/udp']), [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 53, Type: 'udp' },
  ]);
});
