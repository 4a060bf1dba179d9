// Seeded random writes from three replicas, racing through one shared log: every caller gets an
// answer, the replicas end byte-identical, and the state is exactly what the acknowledged writes say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../../../manager/store/store-error.js';
import type { UpdateResult } from '../../../manager/store/replicated-store.js';
import { FakeLog, flush, service } from './fixtures.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Op {
  kind: 'create' | 'update' | 'delete';
  id: string;
  tag: string;
  outcome?: { ok: true; index: number } | { ok: false; code: string };
}

for (const seed of [1, 2, 3, 42, 2026]) {
  test(`seed ${seed}: racing writes from three replicas converge and match the acknowledged writes`, async () => {
    const rnd = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const log = new FakeLog();
    const stores = [log.addStore('a'), log.addStore('b'), log.addStore('c')];
    const ops: Op[] = [];
    const waits: Promise<void>[] = [];
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    for (let i = 0; i < 400; i++) {
      const s = pick(stores);
      const id = pick(ids);
      const tag = `op${i}`;
      const cur = s.view((r) => r.get('services', id));
      let p: Promise<UpdateResult<void>>;
      let op: Op;
      if (!cur) {
        op = { kind: 'create', id, tag };
        p = s.update((tx) => void tx.create('services', service(id, `name-${pick(['x', 'y', 'z', 'w', 'v', 'u'])}`, { w: tag })));
      } else if (rnd() < 0.15) {
        op = { kind: 'delete', id, tag };
        p = s.update((tx) => tx.delete('services', id));
      } else {
        op = { kind: 'update', id, tag };
        p = s.update((tx) => void tx.update('services', { ...cur, Spec: { ...cur.Spec, Labels: { w: tag } } }));
      }
      ops.push(op);
      waits.push(
        p.then(
          (r) => void (op.outcome = { ok: true, index: r.index }),
          (e: unknown) => {
            assert.ok(e instanceof StoreError, String(e));
            op.outcome = { ok: false, code: e.code };
          },
        ),
      );
      if (rnd() < 0.3) {
        log.deliver();
        await flush();
      }
    }
    log.deliver();
    await Promise.all(waits);
    // every caller got an answer
    assert.equal(ops.filter((o) => !o.outcome).length, 0);
    // replicas are byte-identical
    const snaps = stores.map((s) => Buffer.from(s.snapshot()).toString('base64'));
    assert.ok(snaps.every((x) => x === snaps[0]));
    // the state is what the last acknowledged write of each object made it
    for (const id of ids) {
      const acked = ops
        .filter((o) => o.id === id && o.outcome?.ok)
        .sort((x, y) => (x.outcome as { index: number }).index - (y.outcome as { index: number }).index);
      const last = acked.at(-1);
      const obj = stores[0]!.view((r) => r.get('services', id));
      if (!last || last.kind === 'delete') assert.equal(obj, undefined, `${id} should be absent`);
      else {
        assert.equal(obj?.Spec.Labels?.w, last.tag, `${id} carries the last acknowledged write`);
        assert.equal(obj?.Meta.Version.Index, (last.outcome as { index: number }).index);
      }
    }
    const refused = ops.filter((o) => o.outcome && !o.outcome.ok).map((o) => (o.outcome as { code: string }).code);
    assert.ok(refused.includes('out-of-sequence'), 'the run exercised racing updates');
    assert.ok(new Set(refused).size >= 2, `refusal reasons: ${[...new Set(refused)].join(', ')}`);
  });
}
