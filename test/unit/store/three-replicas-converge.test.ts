import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../../../manager/store/store-error.js';
import { FakeLog, flush, service, task } from './fixtures.js';

test('three stores fed one log end byte-identical, and each caller learns the index its write applied at', async () => {
  const log = new FakeLog();
  const [a, b, c] = [log.addStore('a'), log.addStore('b'), log.addStore('c')];
  const pa = a.update((tx) => tx.create('services', service('s1', 'web')));
  const pb = b.update((tx) => tx.create('services', service('s2', 'api')));
  const pc = c.update((tx) => {
    tx.create('tasks', task('t1', 's1', 1));
    tx.create('tasks', task('t2', 's1', 2));
  });
  log.deliver();
  const [ra, rb, rc] = await Promise.all([pa, pb, pc]);
  assert.deepEqual([ra.index, rb.index, rc.index], [1, 2, 3]);
  const snaps = [a, b, c].map((s) => Buffer.from(s.snapshot()).toString('hex'));
  assert.equal(snaps[0], snaps[1]);
  assert.equal(snaps[1], snaps[2]);
  for (const s of [a, b, c]) {
    assert.equal(s.appliedIndex, 3);
    assert.equal(s.view((r) => r.get('tasks', 't2')!.Meta.Version.Index), 3);
    assert.equal(s.view((r) => r.get('services', 's2')!.Meta.Version.Index), 2);
  }
});

test('a racing update is rejected at apply on every replica alike; only its caller sees the error', async () => {
  const log = new FakeLog();
  const [a, b, c] = [log.addStore('a'), log.addStore('b'), log.addStore('c')];
  await Promise.all([a.update((tx) => tx.create('services', service('s1', 'web'))), Promise.resolve(log.deliver())]);
  // a and b both read version 1 and both pass the check on their own replica before proposing.
  const readA = a.view((r) => r.get('services', 's1')!);
  const readB = b.view((r) => r.get('services', 's1')!);
  const first = a.update((tx) => tx.update('services', { ...readA, Spec: { ...readA.Spec, Labels: { by: 'a' } } }));
  const second = b.update((tx) => tx.update('services', { ...readB, Spec: { ...readB.Spec, Labels: { by: 'b' } } }));
  const results: AppliedRecord[] = [];
  log.deliver();
  const [r1, r2] = await Promise.allSettled([first, second]);
  assert.equal(r1.status, 'fulfilled');
  assert.equal(r1.status === 'fulfilled' && r1.value.index, 2);
  assert.equal(r2.status, 'rejected');
  assert.ok(r2.status === 'rejected' && r2.reason instanceof StoreError && r2.reason.message === 'update out of sequence');
  for (const s of [a, b, c]) {
    results.push({ labels: s.view((r) => r.get('services', 's1')!.Spec.Labels), index: s.appliedIndex });
  }
  assert.deepEqual(results, Array(3).fill({ labels: { by: 'a' }, index: 3 }));
  assert.equal(Buffer.compare(Buffer.from(a.snapshot()), Buffer.from(c.snapshot())), 0);
});

interface AppliedRecord {
  labels: Record<string, string> | undefined;
  index: number;
}

test('a follower refuses writes with not-leader, before anything is proposed', async () => {
  const log = new FakeLog();
  const f = log.addStore('f', () => false);
  await assert.rejects(f.update((tx) => tx.create('services', service('s1', 'web'))), (e) => e instanceof StoreError && e.code === 'not-leader');
  assert.equal(log.entries.length, 0);
});

test('a write that fails its checks on the leader is never proposed', async () => {
  const log = new FakeLog();
  const a = log.addStore('a');
  await assert.rejects(a.update((tx) => tx.delete('services', 'nope')), (e) => e instanceof StoreError && e.code === 'not-found');
  assert.equal(log.entries.length, 0);
});

test('a rejected proposal rejects its caller with proposal-failed', async () => {
  const a = new (await import('../../../manager/store/replicated-store.js')).ReplicatedStore({
    proposer: { isLeader: () => true, propose: () => Promise.reject(new Error('leadership lost')) },
    origin: 'a',
    now: () => '2026-01-01T00:00:00.000Z',
  });
  await assert.rejects(a.update((tx) => tx.create('services', service('s1', 'web'))), (e) => e instanceof StoreError && e.code === 'proposal-failed' && /leadership lost/.test(e.message));
});

test('a caller whose index was taken by another entry is told the proposal was lost', async () => {
  const log = new FakeLog();
  const a = log.addStore('a');
  let resolveIt: (r: { index: number }) => void = () => {};
  const lossy = new (await import('../../../manager/store/replicated-store.js')).ReplicatedStore({
    proposer: { isLeader: () => true, propose: () => new Promise((r) => (resolveIt = r)) },
    origin: 'lossy',
    now: () => '2026-01-01T00:00:00.000Z',
  });
  log.stores.push(lossy);
  const p = lossy.update((tx) => tx.create('services', service('s9', 'x')));
  const q = a.update((tx) => tx.create('services', service('s1', 'web')));
  const refused = assert.rejects(p, (e) => e instanceof StoreError && e.code === 'proposal-failed' && /lost/.test(e.message));
  log.deliver(); // index 1 holds a's entry
  resolveIt({ index: 1 }); // the old leader believed its entry got index 1
  await flush();
  await refused;
  assert.equal((await q).index, 1);
});

test('an undecodable entry changes nothing but advances the applied index on every replica', () => {
  const log = new FakeLog();
  const [a, b] = [log.addStore('a'), log.addStore('b')];
  log.entries.push(new TextEncoder().encode('{"v":1,"kind":"batch"'));
  for (const s of [a, b]) {
    const r = s.applyCommitted(log.entries[0]!, 1);
    assert.equal(r.ok, false);
    assert.equal(s.appliedIndex, 1);
  }
  // empty entries (Raft no-ops) are skipped too
  assert.equal(a.applyCommitted(new Uint8Array(0), 2).ok, true);
  assert.equal(a.appliedIndex, 2);
});
