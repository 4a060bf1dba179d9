import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { StoreError } from '../../../manager/store/store-error.js';
import { node as nodeLike, service, T0 } from './fixtures.js';

const code = (c: string) => (e: unknown) => e instanceof StoreError && e.code === c;

test("an update naming a stale version fails with 'update out of sequence' before anything is proposed", () => {
  const s = new MemoryStore();
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  const stale = s.view((r) => r.get('services', 's1')!);
  s.update((tx) => tx.update('services', { ...stale, Spec: { ...stale.Spec, Labels: { a: '1' } } }), T0);
  assert.throws(
    () => s.prepare((tx) => tx.update('services', { ...stale, Spec: { ...stale.Spec, Labels: { b: '2' } } }), T0),
    (e) => e instanceof StoreError && e.code === 'out-of-sequence' && e.message === 'update out of sequence',
  );
});

test('create of an existing ID is a conflict; a duplicate name is a conflict, case-insensitively', () => {
  const s = new MemoryStore();
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  assert.throws(() => s.prepare((tx) => tx.create('services', service('s1', 'other')), T0), code('exists'));
  assert.throws(() => s.prepare((tx) => tx.create('services', service('s2', 'WEB')), T0), code('name-conflict'));
  // renaming onto a taken name is refused too
  s.update((tx) => tx.create('services', service('s3', 'api')), T0);
  assert.throws(() => s.prepare((tx) => {
    const o = tx.get('services', 's3')!;
    tx.update('services', { ...o, Spec: { ...o.Spec, Name: 'web' } });
  }, T0), code('name-conflict'));
});

test('tasks and nodes may share names (no unique name index there)', () => {
  const s = new MemoryStore();
  s.update((tx) => {
    tx.create('nodes', nodeLike('n1', 'same'));
    tx.create('nodes', nodeLike('n2', 'same'));
  }, T0);
  assert.equal(s.view((r) => r.find('nodes', { name: 'same' }).length), 2);
});

test('delete or update of a missing ID is not-found', () => {
  const s = new MemoryStore();
  assert.throws(() => s.prepare((tx) => tx.delete('services', 'nope'), T0), code('not-found'));
  assert.throws(() => s.prepare((tx) => tx.update('services', { ...service('nope', 'x'), Meta: { Version: { Index: 1 }, CreatedAt: T0, UpdatedAt: T0 } }), T0), code('not-found'));
});

test('a batch prepared against an old state is refused at apply when a racing write changed its object', () => {
  const s = new MemoryStore();
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  const read = s.view((r) => r.get('services', 's1')!);
  const a = s.prepare((tx) => tx.update('services', { ...read, Spec: { ...read.Spec, Labels: { by: 'a' } } }), T0);
  const b = s.prepare((tx) => tx.update('services', { ...read, Spec: { ...read.Spec, Labels: { by: 'b' } } }), T0);
  assert.equal(s.apply(a.changes, 2).ok, true);
  const rb = s.apply(b.changes, 3);
  assert.ok(!rb.ok && rb.error.code === 'out-of-sequence');
  assert.deepEqual(s.view((r) => r.get('services', 's1')!.Spec.Labels), { by: 'a' });
});

test('two batches racing to create the same name: the second fails at apply', () => {
  const s = new MemoryStore();
  const a = s.prepare((tx) => tx.create('services', service('s1', 'web')), T0);
  const b = s.prepare((tx) => tx.create('services', service('s2', 'web')), T0);
  assert.equal(s.apply(a.changes, 1).ok, true);
  const rb = s.apply(b.changes, 2);
  assert.ok(!rb.ok && rb.error.code === 'name-conflict');
});

