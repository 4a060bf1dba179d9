import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkAllocator, VNI_START } from '../../../manager/allocator/index.js';

test('overlay networks get distinct /24s from 10.0.0.0/8 and distinct VXLAN IDs; a named subnet is honoured', () => {
  const na = new NetworkAllocator();
  const a = na.allocateNetwork({ id: 'n1' });
  const b = na.allocateNetwork({ id: 'n2', subnet: '10.0.1.0/24', gateway: '10.0.1.254' });
  const c = na.allocateNetwork({ id: 'n3' });
  assert.deepEqual([a.subnet, a.gateway, a.vni], ['10.0.0.0/24', '10.0.0.1', VNI_START]);
  assert.deepEqual([b.subnet, b.gateway, b.vni], ['10.0.1.0/24', '10.0.1.254', VNI_START + 1]);
  assert.equal(c.subnet, '10.0.2.0/24', 'the pool skips the subnet taken by name');
  assert.throws(() => na.allocateNetwork({ id: 'n4', subnet: '10.0.0.128/25' }), /overlaps/);
  assert.throws(() => na.allocateNetwork({ id: 'n5', subnet: 'nonsense' }), /IPAM.Config.Subnet/);
});

test('one VIP per service per network, one address per task; all distinct, all given back', () => {
  const na = new NetworkAllocator();
  na.allocateNetwork({ id: 'n1', subnet: '10.9.0.0/29' }); // 6 usable, gateway .1 → 5 left
  const vip = na.allocateVip('s1', 'n1');
  assert.equal(na.allocateVip('s1', 'n1'), vip, 'asking again gives the same VIP');
  const t = ['t1', 't2', 't3', 't4'].map((id) => na.allocateTaskAddress(id, 'n1'));
  const all = new Set([vip, ...t]);
  assert.equal(all.size, 5);
  assert.ok(![...all].includes('10.9.0.1/29'), 'the gateway is never handed out');
  assert.throws(() => na.allocateTaskAddress('t5', 'n1'), (e: Error & { status?: number }) => e.status === 409);
  na.releaseTask('t2');
  na.releaseVips('s1');
  assert.equal(na.inUse('n1'), 3);
  const again = na.allocateTaskAddress('t5', 'n1');
  assert.ok(!['10.9.0.1/29'].includes(again));
  na.releaseNetwork('n1');
  assert.equal(na.network('n1'), undefined);
  assert.equal(na.allocateNetwork({ id: 'n2', subnet: '10.9.0.0/29' }).vni, VNI_START + 1, 'a VNI is not reused at once');
});

test('a leader rebuilding from the store restores networks and addresses, then hands out only free ones', () => {
  const na = new NetworkAllocator();
  na.restoreNetwork('n1', { subnet: '10.0.0.0/24', gateway: '10.0.0.1', vni: 4100 });
  na.allocateVip('s1', 'n1', '10.0.0.2/24');
  na.allocateTaskAddress('t1', 'n1', '10.0.0.3');
  assert.throws(() => na.allocateTaskAddress('t2', 'n1', '10.0.0.3'), /already in use/);
  assert.notEqual(na.allocateTaskAddress('t2', 'n1'), '10.0.0.3/24');
  assert.equal(na.allocateNetwork({ id: 'n2' }).subnet, '10.0.1.0/24');
  assert.throws(() => na.restoreNetwork('n3', { subnet: '10.5.0.0/24', gateway: '10.5.0.1', vni: 4100 }), /VXLAN ID 4100/);
});
