import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressError, advertiseAddress, formatHostPort, hostOf, parseHostPort, resolveInterface } from '../../../manager/node/addresses.js';

test('listen addresses take Docker\'s default port and reject bad ports and hosts with a message naming the field', () => {
  assert.deepEqual(parseHostPort('0.0.0.0', 'ListenAddr', 2377), { host: '0.0.0.0', port: 2377 });
  assert.deepEqual(parseHostPort('127.0.0.2:4000', 'ListenAddr', 2377), { host: '127.0.0.2', port: 4000 });
  assert.deepEqual(parseHostPort('[::1]:4000', 'ListenAddr'), { host: '::1', port: 4000 });
  assert.throws(() => parseHostPort('1.2.3.4:99999', 'ListenAddr', 2377), (e) => e instanceof AddressError && /ListenAddr: invalid port/.test(e.message));
  assert.throws(() => parseHostPort('', 'RemoteAddrs[0]', 2377), /RemoteAddrs\[0\]: empty address/);
  assert.throws(() => parseHostPort('a b:1', 'AdvertiseAddr'), /invalid host/);
  assert.equal(formatHostPort({ host: '::1', port: 5 }), '[::1]:5');
  assert.equal(hostOf('127.0.0.9:2377'), '127.0.0.9');
});

test('the advertise address takes the listen port when it has none, the listen host when not given, and refuses 0.0.0.0', () => {
  const listen = { host: '0.0.0.0', port: 2377 };
  assert.equal(advertiseAddress(listen, '127.0.0.5', () => 'x'), '127.0.0.5:2377');
  assert.equal(advertiseAddress(listen, '127.0.0.5:9', () => 'x'), '127.0.0.5:9');
  assert.equal(advertiseAddress({ host: '127.0.0.8', port: 30 }, undefined, () => 'x'), '127.0.0.8:30');
  assert.equal(advertiseAddress(listen, '', () => '10.1.1.1'), '10.1.1.1:2377');
  assert.throws(() => advertiseAddress(listen, '0.0.0.0', () => 'x'), /not an address other nodes can reach/);
});

test('an interface name stands for its IPv4 address, with or without a port', () => {
  const ifs = new Map([['eth0', '10.1.2.3'], ['lo', '127.0.0.1']]);
  assert.equal(resolveInterface('eth0', ifs), '10.1.2.3');
  assert.equal(resolveInterface('eth0:4000', ifs), '10.1.2.3:4000');
  assert.equal(resolveInterface('10.9.9.9:1', ifs), '10.9.9.9:1');
  assert.equal(resolveInterface('[::1]:5', ifs), '[::1]:5');
});
