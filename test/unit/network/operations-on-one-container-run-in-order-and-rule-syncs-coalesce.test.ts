import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedQueue, Mutex } from '../../../worker/engine/mutex.js';
import { NftSync } from '../../../worker/engine/network/nft-ruleset.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('work on one container runs in call order even after a failure; other containers overlap; drain waits for all', async () => {
  const q = new KeyedQueue();
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a1 = q.serialize('a', async () => { log.push('a1 start'); await gate; log.push('a1 end'); throw new Error('boom'); });
  const a2 = q.serialize('a', async () => { log.push('a2'); });
  const b1 = q.serialize('b', async () => { log.push('b1'); });
  await b1;
  assert.deepEqual(log, ['a1 start', 'b1']);
  let drained = false;
  const d = q.drain().then(() => (drained = true));
  await tick();
  assert.equal(drained, false);
  release();
  await assert.rejects(a1, /boom/);
  await a2;
  await d;
  assert.deepEqual(log, ['a1 start', 'b1', 'a1 end', 'a2']);
});

test('the mutex runs critical sections one at a time', async () => {
  const m = new Mutex();
  let inside = 0;
  let max = 0;
  await Promise.all(Array.from({ length: 5 }, () => m.run(async () => { inside++; max = Math.max(max, inside); await tick(); inside--; })));
  assert.equal(max, 1);
});

test('rule syncs requested while one runs share a single later application', async () => {
  let runs = 0;
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const s = new NftSync(async () => { runs++; await gate; });
  const first = s.sync();
  await tick();
  const later = [s.sync(), s.sync(), s.sync()];
  assert.equal(runs, 1);
  const r1 = release;
  gate = Promise.resolve();
  r1();
  await first;
  await Promise.all(later);
  assert.equal(runs, 2, 'three calls made during the first run are served by one second run');
});
