import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStandaloneStore } from '../../../manager/store/standalone-store.js';
import { StoreError } from '../../../manager/store/store-error.js';
import { FakeLog, service, task, T0 } from './fixtures.js';

test('a large write is split into transactions of at most 200 objects, each committed before the next', async () => {
  const s = createStandaloneStore({ now: () => T0 });
  const r = await s.batch(async (b) => {
    for (let i = 0; i < 450; i++) await b.update((tx) => tx.create('tasks', task(`t${i}`, 's1', i + 1)));
  });
  assert.deepEqual(r, { indexes: [1, 2, 3], changes: 450 });
  s.view((v) => {
    assert.equal(v.count('tasks'), 450);
    assert.equal(v.get('tasks', 't0')!.Meta.Version.Index, 1);
    assert.equal(v.get('tasks', 't449')!.Meta.Version.Index, 3);
  });
});

test('a callback that throws loses only its own changes; later callbacks read earlier writes', async () => {
  const s = createStandaloneStore({ now: () => T0 });
  const r = await s.batch(async (b) => {
    await b.update((tx) => tx.create('services', service('s1', 'web')));
    await assert.rejects(
      b.update((tx) => {
        tx.create('services', service('s2', 'api'));
        tx.create('services', service('s3', 'web')); // name taken → the whole callback is undone
      }),
      (e) => e instanceof StoreError && e.code === 'name-conflict',
    );
    for (let i = 0; i < 3; i++) {
      await b.update((tx) => {
        const cur = tx.get('services', 's1')!; // created in this batch, maybe in an earlier transaction
        tx.update('services', { ...cur, Spec: { ...cur.Spec, Labels: { n: String(i) } } });
      });
    }
  }, { maxChanges: 1 });
  assert.equal(r.indexes.length, 4);
  s.view((v) => {
    assert.equal(v.get('services', 's2'), undefined);
    assert.deepEqual(v.get('services', 's1')!.Spec.Labels, { n: '2' });
  });
});

test('a batch on a follower is refused with not-leader', async () => {
  const log = new FakeLog();
  const f = log.addStore('f', () => false);
  await assert.rejects(f.batch(async () => {}), (e) => e instanceof StoreError && e.code === 'not-leader');
});

test('a write too large for one proposal is refused with too-large before proposing', async () => {
  const log = new FakeLog();
  const a = log.addStore('a');
  const big = 'x'.repeat(2 * 1024 * 1024);
  await assert.rejects(
    a.update((tx) => tx.create('services', { ...service('s1', 'web'), Spec: { ...service('s1', 'web').Spec, Labels: { big } } })),
    (e) => e instanceof StoreError && e.code === 'too-large',
  );
  assert.equal(log.entries.length, 0);
});
