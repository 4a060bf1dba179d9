import { test } from 'node:test';
import assert from 'node:assert/strict';
import { embeddedResolvConf, hostResolvConf, hostsFile, parseResolvConf } from '../../../worker/engine/network/container-files.js';

const host = parseResolvConf('# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1 # corp\nsearch corp.example lab\noptions edns0 trust-ad\n');

test('the host resolv.conf is parsed with comments stripped', () => {
  assert.deepEqual(host, { nameservers: ['127.0.0.53', '10.1.1.1'], search: ['corp.example', 'lab'], options: ['edns0', 'trust-ad'] });
});

test('user networks point at the embedded DNS with the host search domains and ndots:0', () => {
  assert.equal(embeddedResolvConf(host), 'nameserver 127.0.0.11\nsearch corp.example lab\noptions ndots:0\n');
});

test('the default bridge gets the host resolvers minus loopback ones, or public ones when none is left', () => {
  assert.equal(hostResolvConf(host), 'nameserver 10.1.1.1\nsearch corp.example lab\noptions edns0 trust-ad\n');
  assert.equal(hostResolvConf(parseResolvConf('nameserver 127.0.0.53\n')), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
});

test('/etc/hosts has the localhost lines and the own address with hostname and name', () => {
  const h = hostsFile({ ip: '172.30.0.2', hostname: 'abc123', name: 'web' });
  assert.match(h, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(h, /^::1\tlocalhost ip6-localhost ip6-loopback$/m);
  assert.match(h, /^172\.30\.0\.2\tabc123 web\n$/m);
  assert.doesNotMatch(hostsFile({ ip: undefined, hostname: 'n', name: 'n' }), /\tn$/m);
  assert.match(hostsFile({ ip: '10.0.0.2', hostname: 'web', name: 'web' }), /^10\.0\.0\.2\tweb$/m);
});
