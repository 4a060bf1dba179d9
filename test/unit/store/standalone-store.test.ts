import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStandaloneStore } from '../../../manager/store/standalone-store.js';
import { StoreError } from '../../../manager/store/store-error.js';
import { service, T0 } from './fixtures.js';

test('a standalone store commits each write at the next index through the same apply path', async () => {
  const s = createStandaloneStore({ now: () => T0 });
  const w = s.watch({ tables: ['services'] });
  const a = await s.update((tx) => tx.create('services', service('s1', 'web')).ID);
  assert.deepEqual(a, { result: 's1', index: 1 });
  const cur = s.view((r) => r.get('services', 's1')!);
  const b = await s.update((tx) => tx.update('services', { ...cur, Spec: { ...cur.Spec, Labels: { x: 'y' } } }));
  assert.equal(b.index, 2);
  await assert.rejects(s.update((tx) => tx.update('services', cur)), (e) => e instanceof StoreError && e.message === 'update out of sequence');
  const first = await w.next();
  assert.ok(!first.done && first.value.kind === 'change' && first.value.action === 'create');
  w.close();
});

test('a write with no changes resolves at the current index without proposing', async () => {
  const s = createStandaloneStore({ now: () => T0 });
  assert.deepEqual(await s.update(() => 5), { result: 5, index: 0 });
});

test('entries at or below the applied index are ignored (replay after a snapshot restore)', async () => {
  const s = createStandaloneStore({ now: () => T0 });
  await s.update((tx) => tx.create('services', service('s1', 'web')));
  const snap = s.snapshot();
  const r = s.applyCommitted(new TextEncoder().encode('anything'), 1);
  assert.deepEqual(r, { ok: true, index: 1, alreadyApplied: true });
  assert.deepEqual(Buffer.from(s.snapshot()), Buffer.from(snap));
});

test('two consumers waiting on one watcher each get their own event', async () => {
  const s = createStandaloneStore({ now: () => T0 });
  const w = s.watch({ tables: ['services'] });
  const p1 = w.next();
  const p2 = w.next();
  await s.update((tx) => {
    tx.create('services', service('a', 'a'));
    tx.create('services', service('b', 'b'));
  });
  const got = (await Promise.all([p1, p2])).map((r) => (!r.done && r.value.kind === 'change' ? r.value.object.ID : '?'));
  assert.deepEqual(got, ['a', 'b']);
  w.close();
});
