import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { ReplicatedStore } from '../../../manager/store/replicated-store.js';
import { StoreError } from '../../../manager/store/store-error.js';
import { FakeLog, node, service, task, T0 } from './fixtures.js';

function populated(): MemoryStore {
  const s = new MemoryStore();
  s.update((tx) => {
    tx.create('services', service('s1', 'web', { a: '1' }));
    tx.create('nodes', node('n1', 'h1'));
  }, T0);
  s.update((tx) => {
    tx.create('tasks', task('t1', 's1', 1, 'n1'));
    tx.create('tasks', task('t2', 's1', 2, 'n1'));
  }, T0);
  return s;
}

test('snapshot then restore gives the same objects, indexes and applied index, and the same bytes again', () => {
  const src = populated();
  const snap = src.snapshot();
  const dst = new MemoryStore();
  dst.restore(snap);
  assert.equal(dst.appliedIndex, 2);
  assert.deepEqual(Buffer.from(dst.snapshot()), Buffer.from(snap));
  dst.view((r) => {
    assert.deepEqual(r.find('tasks', { index: 'node', key: 'n1' }).map((t) => t.ID), ['t1', 't2']);
    assert.equal(r.lookup('services', 'web').ID, 's1');
    assert.equal(r.get('tasks', 't2')!.Meta.Version.Index, 2);
  });
  // the restored store keeps going: next write applies at index 3
  dst.update((tx) => tx.delete('tasks', 't1'), T0);
  assert.equal(dst.appliedIndex, 3);
});

test('the snapshot encoding does not depend on insertion order', () => {
  const x = new MemoryStore();
  x.update((tx) => {
    tx.create('services', service('s2', 'b'));
    tx.create('services', service('s1', 'a'));
  }, T0);
  const y = new MemoryStore();
  y.update((tx) => {
    tx.create('services', service('s1', 'a'));
    tx.create('services', service('s2', 'b'));
  }, T0);
  assert.deepEqual(Buffer.from(x.snapshot()), Buffer.from(y.snapshot()));
});

test('restore refuses a malformed snapshot and names what is wrong', () => {
  const s = new MemoryStore();
  assert.throws(() => s.restore(new TextEncoder().encode('nope')), (e) => e instanceof StoreError && e.code === 'invalid' && /not JSON/.test(e.message));
  const bad = JSON.stringify({ v: 1, index: 3, tables: { services: [{ ID: 's1' }] } });
  assert.throws(() => s.restore(new TextEncoder().encode(bad)), (e) => e instanceof StoreError && /Meta\.Version\.Index/.test(e.message));
  const dup = populated().snapshot();
  const parsed = JSON.parse(new TextDecoder().decode(dup));
  parsed.tables.tasks.push(parsed.tables.tasks[0]);
  assert.throws(() => s.restore(new TextEncoder().encode(JSON.stringify(parsed))), /duplicate tasks ID t1/);
});

test('a replica restored from a snapshot then fed the rest of the log matches the others', async () => {
  const log = new FakeLog();
  const a = log.addStore('a');
  const b = log.addStore('b');
  const p1 = a.update((tx) => tx.create('services', service('s1', 'web')));
  log.deliver();
  await p1;
  const late = new ReplicatedStore({ proposer: log.proposer(), origin: 'late', now: () => T0 });
  late.restore(a.snapshot());
  log.stores.push(late);
  const p2 = b.update((tx) => tx.create('tasks', task('t1', 's1', 1)));
  log.deliver();
  await p2;
  assert.deepEqual(Buffer.from(late.snapshot()), Buffer.from(a.snapshot()));
});

test('restore closes open watchers with an error so they read again', async () => {
  const s = populated();
  const w = s.watch();
  s.restore(populated().snapshot());
  await assert.rejects(w.next(), (e) => e instanceof StoreError && e.code === 'closed' && /snapshot/.test(e.message));
});

test('a write whose entry a restored snapshot covers is told its outcome is unknown', async () => {
  let resolveIt: (r: { index: number }) => void = () => {};
  const s = new ReplicatedStore({
    proposer: { isLeader: () => true, propose: () => new Promise((r) => (resolveIt = r)) },
    origin: 'x',
    now: () => T0,
  });
  const p = s.update((tx) => tx.create('services', service('s1', 'web')));
  const verdict = assert.rejects(p, (e) => e instanceof StoreError && e.code === 'outcome-unknown');
  resolveIt({ index: 2 });
  await new Promise((r) => setImmediate(r));
  s.restore(populated().snapshot()); // a snapshot at index 2 arrives instead of the entries
  await verdict;
});
