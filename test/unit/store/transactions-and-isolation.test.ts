import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { isStoreError } from '../../../manager/store/store-error.js';
import { service, task, T0 } from './fixtures.js';

test('a write transaction sees its own changes; readers see none of them until the batch applies', () => {
  const s = new MemoryStore();
  const prepared = s.prepare((tx) => {
    tx.create('services', service('s1', 'web'));
    tx.create('tasks', task('t1', 's1', 1));
    assert.equal(tx.get('services', 's1')?.Spec.Name, 'web');
    assert.equal(tx.find('tasks', { index: 'service', key: 's1' }).length, 1);
    assert.equal(s.view((r) => r.get('services', 's1')), undefined, 'a reader during the write sees nothing');
    return 'done';
  }, T0);
  assert.equal(prepared.result, 'done');
  assert.equal(prepared.changes.length, 2);
  assert.equal(s.view((r) => r.count('services')), 0, 'prepare applies nothing');
  const r = s.apply(prepared.changes, 7);
  assert.equal(r.ok, true);
  s.view((r) => {
    assert.equal(r.get('services', 's1')?.Meta.Version.Index, 7);
    assert.equal(r.get('tasks', 't1')?.Meta.Version.Index, 7);
    assert.equal(r.get('tasks', 't1')?.Meta.CreatedAt, T0);
  });
  assert.equal(s.appliedIndex, 7);
});

test('a transaction whose function throws leaves the store untouched', () => {
  const s = new MemoryStore();
  assert.throws(() =>
    s.update((tx) => {
      tx.create('services', service('s1', 'web'));
      throw new Error('boom');
    }, T0),
  /boom/);
  assert.equal(s.view((r) => r.count('services')), 0);
  assert.equal(s.appliedIndex, 0);
});

test('create then delete in one transaction yields no change; update then delete yields a delete', () => {
  const s = new MemoryStore();
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  const p = s.prepare((tx) => {
    tx.create('services', service('s2', 'tmp'));
    tx.delete('services', 's2');
    const cur = tx.get('services', 's1')!;
    tx.update('services', { ...cur, Spec: { ...cur.Spec, Name: 'web2' } });
    tx.delete('services', 's1');
  }, T0);
  assert.deepEqual(p.changes.map((c) => [c.action, c.object.ID]), [['delete', 's1']]);
});

test('read-modify-write twice in one transaction works against the version read at its start', () => {
  const s = new MemoryStore();
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  s.update((tx) => {
    const a = tx.get('services', 's1')!;
    tx.update('services', { ...a, Spec: { ...a.Spec, Labels: { x: '1' } } });
    const b = tx.get('services', 's1')!;
    tx.update('services', { ...b, Spec: { ...b.Spec, Labels: { x: '2' } } });
  }, '2026-01-02T00:00:00.000Z');
  const o = s.view((r) => r.get('services', 's1')!);
  assert.deepEqual(o.Spec.Labels, { x: '2' });
  assert.equal(o.Meta.Version.Index, 2);
  assert.equal(o.Meta.CreatedAt, T0);
  assert.equal(o.Meta.UpdatedAt, '2026-01-02T00:00:00.000Z');
});

test('objects read from the store are frozen: callers cannot change stored state in place', () => {
  const s = new MemoryStore();
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  const o = s.view((r) => r.get('services', 's1')!);
  assert.throws(() => {
    (o.Spec as { Name: string }).Name = 'evil';
  }, TypeError);
  assert.equal(s.view((r) => r.get('services', 's1')!.Spec.Name), 'web');
});

test('a batch applies all or nothing: one failing change rejects the whole batch', () => {
  const s = new MemoryStore();
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  const p = s.prepare((tx) => {
    tx.create('services', service('s2', 'api'));
    tx.create('tasks', task('t1', 's2', 1));
  }, T0);
  // Something else creates s2 first; the batch then fails at apply and applies none of its changes.
  s.update((tx) => tx.create('services', service('s2', 'other')), T0);
  const r = s.apply(p.changes, 10);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && isStoreError(r.error, 'exists'));
  assert.equal(s.view((r) => r.get('tasks', 't1')), undefined);
  assert.equal(s.appliedIndex, 10, 'a refused batch still consumes its index');
});

test('view and update functions must be synchronous: one returning a promise is refused', () => {
  const s = new MemoryStore();
  assert.throws(() => s.view(async () => 1), (e) => e instanceof Error && /synchronous/.test(e.message));
  assert.throws(() => s.update(async (tx) => void tx.create('services', service('s1', 'web')), T0), /synchronous/);
  assert.equal(s.view((r) => r.count('services')), 0);
});
