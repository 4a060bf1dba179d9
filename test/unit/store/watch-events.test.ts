import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../manager/store/memory-store.js';
import { StoreError } from '../../../manager/store/store-error.js';
import type { StoreEvent } from '../../../manager/store/watch.js';
import { FakeLog, service, task, T0 } from './fixtures.js';

async function take(it: AsyncIterator<StoreEvent>, n: number): Promise<StoreEvent[]> {
  const out: StoreEvent[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

const brief = (e: StoreEvent) => (e.kind === 'commit' ? `commit@${e.index}` : `${e.action} ${e.table} ${e.object.ID}@${e.index}`);

test('watchers get create, update and delete events in commit order, with the old object on update', async () => {
  const s = new MemoryStore();
  const w = s.watch({ commits: true });
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  s.update((tx) => {
    const o = tx.get('services', 's1')!;
    tx.update('services', { ...o, Spec: { ...o.Spec, Labels: { v: '2' } } });
    tx.create('tasks', task('t1', 's1', 1));
  }, T0);
  s.update((tx) => tx.delete('tasks', 't1'), T0);
  const evs = await take(w, 7);
  assert.deepEqual(evs.map(brief), [
    'create services s1@1', 'commit@1',
    'update services s1@2', 'create tasks t1@2', 'commit@2',
    'delete tasks t1@3', 'commit@3',
  ]);
  const upd = evs[2]!;
  assert.ok(upd.kind === 'change' && upd.table === 'services');
  assert.equal(upd.oldObject?.Meta.Version.Index, 1);
  assert.deepEqual(upd.object.Spec.Labels, { v: '2' });
  w.close();
  assert.equal((await w.next()).done, true);
});

test('watchers filter by table, action and predicate, and see nothing of a refused batch', async () => {
  const s = new MemoryStore();
  const w = s.watch({ tables: ['tasks'], actions: ['create'], filter: (e) => e.table === 'tasks' && e.object.ServiceID === 's1' });
  const p = s.prepare((tx) => tx.create('services', service('s1', 'web')), T0);
  s.update((tx) => {
    tx.create('services', service('s1', 'web'));
    tx.create('tasks', task('t1', 's1', 1));
    tx.create('tasks', task('t2', 's2', 1));
  }, T0);
  assert.equal(s.apply(p.changes, 5).ok, false); // refused: s1 exists
  s.update((tx) => tx.create('tasks', task('t3', 's1', 2)), T0);
  const evs = await take(w, 2);
  assert.deepEqual(evs.map(brief), ['create tasks t1@1', 'create tasks t3@6']);
  assert.equal(w.pending, 0);
  w.close();
});

test('a slow watcher is closed with an overflow error; the store and other watchers carry on', async () => {
  const s = new MemoryStore();
  const slow = s.watch({ queueLimit: 3 });
  const fast = s.watch();
  for (let i = 0; i < 5; i++) s.update((tx) => tx.create('tasks', task(`t${i}`, 's1', i + 1)), T0);
  assert.equal(slow.closed, true);
  await assert.rejects(slow.next(), (e) => e instanceof StoreError && e.code === 'watcher-overflow');
  assert.equal((await take(fast, 5)).length, 5);
  assert.equal(s.watcherCount, 1);
  fast.close();
  assert.equal(s.watcherCount, 0);
});

test('a waiting consumer is woken by the next applied batch (for await works)', async () => {
  const s = new MemoryStore();
  const w = s.watch({ tables: ['services'] });
  const got = (async () => {
    const seen: string[] = [];
    for await (const e of w) {
      if (e.kind === 'change') seen.push(e.object.ID);
      if (seen.length === 2) break;
    }
    return seen;
  })();
  s.update((tx) => tx.create('services', service('a', 'a')), T0);
  await new Promise((r) => setImmediate(r));
  s.update((tx) => tx.create('services', service('b', 'b')), T0);
  assert.deepEqual(await got, ['a', 'b']);
  assert.equal(s.watcherCount, 0, 'breaking out of for-await closes the watcher');
});

test('viewAndWatch: the snapshot and the events after it neither overlap nor leave a gap', async () => {
  const log = new FakeLog();
  const a = log.addStore('a');
  const p = a.update((tx) => tx.create('services', service('s1', 'web')));
  log.deliver();
  await p;
  const { result, watcher } = a.viewAndWatch((r) => r.find('services').map((x) => x.ID), { tables: ['services'] });
  const q = a.update((tx) => tx.create('services', service('s2', 'api')));
  log.deliver();
  await q;
  assert.deepEqual(result, ['s1']);
  assert.deepEqual((await take(watcher, 1)).map(brief), ['create services s2@2']);
  watcher.close();
});

test('every replica delivers the same events for the same log', async () => {
  const log = new FakeLog();
  const stores = [log.addStore('a'), log.addStore('b'), log.addStore('c')];
  const watchers = stores.map((s) => s.watch());
  const ps = [
    stores[0]!.update((tx) => tx.create('services', service('s1', 'web'))),
    stores[1]!.update((tx) => tx.create('tasks', task('t1', 's1', 1))),
  ];
  log.deliver();
  await Promise.all(ps);
  const seen = await Promise.all(watchers.map((w) => take(w, 2)));
  for (const s of seen) assert.deepEqual(s.map(brief), ['create services s1@1', 'create tasks t1@2']);
  watchers.forEach((w) => w.close());
});

test('watchFrom replays the kept events after an index, then continues live; older ones are compacted', async () => {
  const s = new MemoryStore(2); // keep the events of the last two batches
  for (let i = 1; i <= 4; i++) s.update((tx) => tx.create('services', service(`s${i}`, `n${i}`)), T0);
  const w = s.watchFrom(2, { tables: ['services'] });
  s.update((tx) => tx.create('services', service('s5', 'n5')), T0);
  assert.deepEqual((await take(w, 3)).map(brief), ['create services s3@3', 'create services s4@4', 'create services s5@5']);
  w.close();
  assert.throws(() => s.watchFrom(1), (e) => e instanceof StoreError && e.code === 'compacted');
  assert.throws(() => s.watchFrom(9), (e) => e instanceof StoreError && e.code === 'invalid');
  const live = s.watchFrom(5);
  assert.equal(live.pending, 0);
  live.close();
  // after a restore the history starts at the snapshot
  const r = new MemoryStore();
  r.restore(s.snapshot());
  assert.throws(() => r.watchFrom(4), (e) => e instanceof StoreError && e.code === 'compacted');
  r.watchFrom(5).close();
});

test('a watcher whose filter throws is closed; apply and the other watchers are unaffected', async () => {
  const s = new MemoryStore();
  const bad = s.watch({ filter: () => { throw new Error('oops'); } });
  const good = s.watch({ tables: ['services'] });
  s.update((tx) => tx.create('services', service('s1', 'web')), T0);
  assert.equal(s.appliedIndex, 1);
  await assert.rejects(bad.next(), (e) => e instanceof StoreError && /oops/.test(e.message));
  assert.deepEqual((await take(good, 1)).map(brief), ['create services s1@1']);
  good.close();
});
