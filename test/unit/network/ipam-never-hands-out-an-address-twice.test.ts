import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickSubnet, SubnetAllocator } from '../../../worker/engine/network/ipam.js';
import { formatCidr, formatIPv4, mustParseCidr, parseCidr, parseIPv4 } from '../../../worker/engine/network/ipv4.js';
import { NetworkError } from '../../../worker/engine/network/errors.js';

// A small deterministic PRNG so a failure is reproducible.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('across 1,000 allocate/release cycles no address is handed out while it is held', () => {
  const subnet = mustParseCidr('10.9.0.0/26');
  const alloc = new SubnetAllocator(subnet, subnet.base + 1);
  const held = new Set<number>();
  const rand = rng(42);
  for (let i = 0; i < 1000; i++) {
    if (held.size > 0 && (rand() < 0.45 || held.size >= 61)) {
      const pick = [...held][Math.floor(rand() * held.size)]!;
      alloc.release(pick);
      held.delete(pick);
    } else {
      const a = alloc.allocate();
      assert.ok(!held.has(a), `cycle ${i}: ${formatIPv4(a)} handed out twice`);
      assert.notEqual(a, subnet.base + 1, 'gateway handed out');
      assert.notEqual(a, subnet.base, 'network address handed out');
      assert.notEqual(a, subnet.base + 63, 'broadcast address handed out');
      held.add(a);
    }
    assert.equal(alloc.inUse, held.size);
  }
});

test('a full subnet answers 409 and a released address is not reused at once (round robin)', () => {
  const subnet = mustParseCidr('10.9.1.0/29'); // 8 addresses: .0 net, .1 gw, .7 bcast -> 5 usable
  const alloc = new SubnetAllocator(subnet, subnet.base + 1);
  const got = [1, 2, 3, 4, 5].map(() => formatIPv4(alloc.allocate()));
  assert.deepEqual(got, ['10.9.1.2', '10.9.1.3', '10.9.1.4', '10.9.1.5', '10.9.1.6']);
  assert.throws(() => alloc.allocate(), (e: unknown) => e instanceof NetworkError && e.status === 409);
  alloc.release(parseIPv4('10.9.1.3')!);
  alloc.release(parseIPv4('10.9.1.5')!);
  assert.equal(formatIPv4(alloc.allocate()), '10.9.1.3');
  assert.equal(formatIPv4(alloc.allocate()), '10.9.1.5');
});

test('a requested address is refused when held or outside the subnet, and an ip-range limits the pool', () => {
  const subnet = mustParseCidr('10.9.2.0/24');
  const alloc = new SubnetAllocator(subnet, parseIPv4('10.9.2.254')!, mustParseCidr('10.9.2.16/30'));
  assert.equal(formatIPv4(alloc.allocate()), '10.9.2.16');
  assert.equal(alloc.allocate(parseIPv4('10.9.2.100')), parseIPv4('10.9.2.100'));
  assert.throws(() => alloc.allocate(parseIPv4('10.9.2.100')), (e: unknown) => e instanceof NetworkError && e.status === 409);
  assert.throws(() => alloc.allocate(parseIPv4('10.9.3.1')), (e: unknown) => e instanceof NetworkError && e.status === 400);
  assert.throws(() => alloc.allocate(parseIPv4('10.9.2.254')), (e: unknown) => e instanceof NetworkError && e.status === 409);
  assert.deepEqual([alloc.allocate(), alloc.allocate(), alloc.allocate()].map(formatIPv4), ['10.9.2.17', '10.9.2.18', '10.9.2.19']);
  assert.throws(() => alloc.allocate(), /no available/);
  assert.throws(() => new SubnetAllocator(subnet, parseIPv4('10.8.0.1')!), /not in subnet/);
});

test('pickSubnet takes the first pool subnet that overlaps no existing network', () => {
  const pools = [{ base: mustParseCidr('172.31.0.0/16'), size: 24 }];
  assert.equal(formatCidr(pickSubnet(pools, [])), '172.31.0.0/24');
  assert.equal(formatCidr(pickSubnet(pools, [mustParseCidr('172.31.0.0/23'), mustParseCidr('172.31.2.128/25')])), '172.31.3.0/24');
  assert.throws(() => pickSubnet(pools, [mustParseCidr('172.31.0.0/16')]), (e: unknown) => e instanceof NetworkError && e.status === 403);
});

test('IPv4 parsing rejects malformed text and normalizes CIDR host bits', () => {
  assert.equal(parseIPv4('1.2.3'), undefined);
  assert.equal(parseIPv4('1.2.3.256'), undefined);
  assert.equal(parseIPv4('01.2.3.4x'), undefined);
  assert.equal(formatCidr(parseCidr('10.1.2.3/16')!), '10.1.0.0/16');
  assert.equal(parseCidr('10.1.2.3/33'), undefined);
});
