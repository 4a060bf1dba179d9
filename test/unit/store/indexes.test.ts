import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { StoreError } from '../../../manager/store/store-error.js';
import { node, service, task, T0 } from './fixtures.js';

function populated(): MemoryStore {
  const s = new MemoryStore();
  s.update((tx) => {
    tx.create('services', service('abc111', 'web', { tier: 'front' }));
    tx.create('services', service('abc222', 'api', { tier: 'back' }));
    tx.create('nodes', node('n1', 'host-1', 'manager'));
    tx.create('nodes', node('n2', 'host-2'));
    tx.create('tasks', task('t1', 'abc111', 1, 'n1'));
    tx.create('tasks', task('t2', 'abc111', 2, 'n2'));
    tx.create('tasks', task('t3', 'abc222', 1, 'n2', 'shutdown'));
  }, T0);
  return s;
}

const ids = (xs: { ID: string }[]) => xs.map((x) => x.ID);

test('tasks are found by service, node, slot, service+node and desired state', () => {
  populated().view((r) => {
    assert.deepEqual(ids(r.find('tasks', { index: 'service', key: 'abc111' })), ['t1', 't2']);
    assert.deepEqual(ids(r.find('tasks', { index: 'node', key: 'n2' })), ['t2', 't3']);
    assert.deepEqual(ids(r.find('tasks', { index: 'slot', key: 'abc111/2' })), ['t2']);
    assert.deepEqual(ids(r.find('tasks', { index: 'serviceNode', key: 'abc222/n2' })), ['t3']);
    assert.deepEqual(ids(r.find('tasks', { index: 'desiredState', key: 'shutdown' })), ['t3']);
    assert.deepEqual(ids(r.find('tasks', { index: 'state', key: 'new' })), ['t1', 't2', 't3']);
  });
});

test('nodes are found by role and hostname; objects by label key and key=value', () => {
  populated().view((r) => {
    assert.deepEqual(ids(r.find('nodes', { index: 'role', key: 'manager' })), ['n1']);
    assert.deepEqual(ids(r.find('nodes', { index: 'hostname', key: 'host-2' })), ['n2']);
    assert.deepEqual(ids(r.find('services', { index: 'label', key: 'tier' })), ['abc111', 'abc222']);
    assert.deepEqual(ids(r.find('services', { index: 'label', key: 'tier=back' })), ['abc222']);
    assert.deepEqual(ids(r.find('services', { index: 'network', key: 'net1' })), ['abc111', 'abc222']);
  });
});

test('indexes follow updates and deletes', () => {
  const s = populated();
  s.update((tx) => {
    const t = tx.get('tasks', 't1')!;
    tx.update('tasks', { ...t, NodeID: 'n2', DesiredState: 'shutdown' });
    tx.delete('tasks', 't3');
  }, T0);
  s.view((r) => {
    assert.deepEqual(ids(r.find('tasks', { index: 'node', key: 'n1' })), []);
    assert.deepEqual(ids(r.find('tasks', { index: 'node', key: 'n2' })), ['t1', 't2']);
    assert.deepEqual(ids(r.find('tasks', { index: 'desiredState', key: 'shutdown' })), ['t1']);
  });
});

test('lookup resolves exact ID, then name (case-insensitive), then a unique ID prefix', () => {
  populated().view((r) => {
    assert.equal(r.lookup('services', 'abc111').Spec.Name, 'web');
    assert.equal(r.lookup('services', 'WEB').ID, 'abc111');
    assert.equal(r.lookup('services', 'abc2').ID, 'abc222');
    assert.deepEqual(ids(r.find('services', { idPrefix: 'abc' })), ['abc111', 'abc222']);
  });
});

test('an ID prefix that matches two objects is an ambiguity error, a missing one not-found', () => {
  populated().view((r) => {
    assert.throws(() => r.lookup('services', 'abc'), (e) => e instanceof StoreError && e.code === 'ambiguous' && /ambiguous/.test(e.message));
    assert.throws(() => r.lookup('services', 'zzz'), (e) => e instanceof StoreError && e.code === 'not-found');
  });
});

test('asking a table for an index it does not have is an error', () => {
  populated().view((r) => {
    assert.throws(() => r.find('secrets', { index: 'node', key: 'x' }), (e) => e instanceof StoreError && e.code === 'invalid');
  });
});

test('generated IDs are 25 base-36 characters, zero-padded', async () => {
  const { generateId } = await import('../../../manager/store/ids.js');
  const { randomBytes } = await import('node:crypto');
  assert.match(generateId(randomBytes), /^[0-9a-z]{25}$/);
  assert.equal(generateId((n) => new Uint8Array(n)), '0'.repeat(25));
});
