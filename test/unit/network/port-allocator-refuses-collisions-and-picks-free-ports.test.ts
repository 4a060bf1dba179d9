import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EPHEMERAL_RANGE, PortAllocator, portBindingsFromDocker } from '../../../worker/engine/network/port-allocator.js';
import { NetworkError } from '../../../worker/engine/network/errors.js';

const is409 = (port: number) => (e: unknown) => e instanceof NetworkError && e.status === 409 && e.message.includes(String(port));

test('an exact port held by another container is a 409 naming the port; 0.0.0.0 overlaps every address', () => {
  const p = new PortAllocator();
  p.reserve('a', [{ containerPort: 80, proto: 'tcp', hostPort: '8080' }]);
  assert.throws(() => p.reserve('b', [{ containerPort: 81, proto: 'tcp', hostPort: '8080' }]), is409(8080));
  assert.throws(() => p.reserve('b', [{ containerPort: 81, proto: 'tcp', hostIp: '127.0.0.1', hostPort: '8080' }]), is409(8080));
  assert.equal(p.reserve('b', [{ containerPort: 81, proto: 'udp', hostPort: '8080' }])[0]!.hostPort, 8080);
  p.reserve('c', [{ containerPort: 1, proto: 'tcp', hostIp: '127.0.0.1', hostPort: '9000' }]);
  assert.equal(p.reserve('d', [{ containerPort: 1, proto: 'tcp', hostIp: '127.0.0.2', hostPort: '9000' }])[0]!.hostIp, '127.0.0.2');
  p.release('a');
  assert.equal(p.reserve('e', [{ containerPort: 80, proto: 'tcp', hostPort: '8080' }])[0]!.hostPort, 8080);
});

test('a refused request reserves none of its ports', () => {
  const p = new PortAllocator();
  p.reserve('a', [{ containerPort: 80, proto: 'tcp', hostPort: '8081' }]);
  assert.throws(() => p.reserve('b', [{ containerPort: 80, proto: 'tcp', hostPort: '8080' }, { containerPort: 81, proto: 'tcp', hostPort: '8081' }]), is409(8081));
  assert.equal(p.reserve('c', [{ containerPort: 80, proto: 'tcp', hostPort: '8080' }])[0]!.hostPort, 8080);
});

test('ephemeral ports come from the ephemeral range, skip ports bound on the host and are not repeated', () => {
  const p = new PortAllocator();
  const busy = new Set([EPHEMERAL_RANGE.first, EPHEMERAL_RANGE.first + 1]);
  const got = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const [r] = p.reserve(`c${i}`, [{ containerPort: 80, proto: 'tcp', hostPort: '' }], (_proto, port) => !busy.has(port));
    assert.ok(r!.hostPort >= EPHEMERAL_RANGE.first && r!.hostPort <= EPHEMERAL_RANGE.last);
    assert.ok(!busy.has(r!.hostPort));
    assert.ok(!got.has(r!.hostPort));
    got.add(r!.hostPort);
  }
});

test('a host port range gives the first free port in it and 409 when all are taken', () => {
  const p = new PortAllocator();
  assert.equal(p.reserve('a', [{ containerPort: 80, proto: 'tcp', hostPort: '9000-9001' }])[0]!.hostPort, 9000);
  assert.equal(p.reserve('b', [{ containerPort: 80, proto: 'tcp', hostPort: '9000-9001' }])[0]!.hostPort, 9001);
  assert.throws(() => p.reserve('c', [{ containerPort: 80, proto: 'tcp', hostPort: '9000-9001' }]), (e: unknown) => e instanceof NetworkError && e.status === 409);
  assert.throws(() => p.reserve('d', [{ containerPort: 80, proto: 'tcp', hostPort: '70000' }]), (e: unknown) => e instanceof NetworkError && e.status === 400);
  // an address the nft map cannot hold is refused up front instead of breaking the rule set
  assert.throws(() => p.reserve('d', [{ containerPort: 80, proto: 'tcp', hostIp: '::', hostPort: '9100' }]), (e: unknown) => e instanceof NetworkError && e.status === 400);
});

test("Docker's PortBindings map turns into binding requests, ranges paired one to one", () => {
  assert.deepEqual(portBindingsFromDocker({ '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostPort: '' }], '7000-7001/tcp': [{ HostPort: '9000-9001' }], '90': null }), [
    { containerPort: 80, proto: 'tcp', hostIp: '', hostPort: '8080' },
    { containerPort: 53, proto: 'udp', hostIp: '', hostPort: '' },
    { containerPort: 7000, proto: 'tcp', hostIp: '', hostPort: '9000' },
    { containerPort: 7001, proto: 'tcp', hostIp: '', hostPort: '9001' },
  ]);
  assert.deepEqual(portBindingsFromDocker(undefined), []);
  assert.deepEqual(portBindingsFromDocker({ '80': [{ HostPort: 8080 }] }), [{ containerPort: 80, proto: 'tcp', hostIp: '', hostPort: '8080' }]);
  assert.throws(() => portBindingsFromDocker({ 'x/tcp': [] }), (e: unknown) => e instanceof NetworkError && e.status === 400);
  assert.throws(() => portBindingsFromDocker([]), (e: unknown) => e instanceof NetworkError && e.status === 400);
});
