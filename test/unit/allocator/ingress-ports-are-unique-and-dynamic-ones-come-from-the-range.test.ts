import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortAllocator } from '../../../manager/allocator/index.js';

test('a port left empty gets the lowest free port of 30000-32767; a named one is kept', () => {
  const pa = new PortAllocator();
  const a = pa.allocate('s1', [{ TargetPort: 80 }, { TargetPort: 53, Protocol: 'udp' }, { TargetPort: 443, PublishedPort: 8443 }]);
  assert.deepEqual(a.map((p) => [p.Protocol, p.TargetPort, p.PublishedPort, p.PublishMode]), [
    ['tcp', 80, 30000, 'ingress'], ['udp', 53, 30000, 'ingress'], ['tcp', 443, 8443, 'ingress'],
  ]);
  const b = pa.allocate('s2', [{ TargetPort: 80 }]);
  assert.equal(b[0]!.PublishedPort, 30001);
});

test('a published port held by another service is refused with Docker\'s message, and nothing changes', () => {
  const pa = new PortAllocator(undefined, (id) => ({ s1: 'web' })[id] ?? id);
  pa.allocate('s1', [{ TargetPort: 80, PublishedPort: 8080 }]);
  assert.throws(
    () => pa.allocate('s2', [{ TargetPort: 81 }, { TargetPort: 80, PublishedPort: 8080 }]),
    (e: Error & { status?: number }) => e.status === 400 && e.message === "port '8080' is already in use by service 'web' (s1) as an ingress port",
  );
  assert.equal(pa.holder('tcp', 30000), undefined, 'the all-or-nothing allocation took no dynamic port');
  assert.equal(pa.holder('tcp', 8080), 's1');
  assert.equal(pa.allocate('s3', [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'udp' }])[0]!.PublishedPort, 8080, 'udp/8080 is a different port');
});

test('an update keeps the dynamic ports the service had and gives back the ones it dropped', () => {
  const pa = new PortAllocator();
  pa.allocate('s1', [{ TargetPort: 80 }, { TargetPort: 81 }]);
  const upd = pa.allocate('s1', [{ TargetPort: 81 }]);
  assert.equal(upd[0]!.PublishedPort, 30001, 'target 81 keeps its port');
  assert.equal(pa.holder('tcp', 30000), undefined, '30000 was given back');
  pa.release('s1');
  assert.equal(pa.holder('tcp', 30001), undefined);
});

test('host-mode ports are not allocated cluster-wide; bad ports are refused naming the field', () => {
  const pa = new PortAllocator();
  const h = pa.allocate('s1', [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }]);
  assert.equal(pa.holder('tcp', 8080), undefined);
  assert.equal(h[0]!.PublishMode, 'host');
  assert.throws(() => pa.allocate('s2', [{ TargetPort: 0 }]), /EndpointSpec.Ports\[0\].TargetPort: 0 is not a port/);
  assert.throws(() => pa.allocate('s2', [{ TargetPort: 80, PublishedPort: 70000 }]), /PublishedPort: 70000/);
  assert.throws(() => pa.allocate('s2', [{ TargetPort: 80, PublishedPort: 9000 }, { TargetPort: 81, PublishedPort: 9000 }]), /listed twice/);
});

test('the dynamic range running out is a 409 and restore() re-registers ports from the store', () => {
  const pa = new PortAllocator({ start: 40000, end: 40001 });
  pa.allocate('s1', [{ TargetPort: 1 }, { TargetPort: 2 }]);
  assert.throws(() => pa.allocate('s2', [{ TargetPort: 1 }]), (e: Error & { status?: number }) => e.status === 409);
  const fresh = new PortAllocator();
  fresh.restore('s9', [{ TargetPort: 80, PublishedPort: 30000, Protocol: 'tcp', PublishMode: 'ingress' }]);
  assert.equal(fresh.allocate('s10', [{ TargetPort: 80 }])[0]!.PublishedPort, 30001);
});
