/**
 * Containers started and removed 8 at a time all succeed: one container's release never takes away
 * what another one's start is using (the engine's parent cgroup was once removed when it looked empty,
 * and a runc create under it at that moment failed with "cpuset.mems: no such device").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openFixture, leftovers, runToExit, type Fixture } from './engine-fixture.js';
import { allHierarchies } from '../../../worker/engine/runtime/cgroups.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

test('48 containers run and are removed 8 at a time, every one succeeds and leaves nothing', async () => {
  const total = 48;
  let next = 0;
  const failures: string[] = [];
  const ids: string[] = [];
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      try {
        const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['/bin/true'] });
        if (r.code !== 0) failures.push(`exit ${r.code}: ${r.stderr}`);
        await f.mgr.remove(r.id, { force: true });
        ids.push(r.id);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.deepEqual(failures, [], 'no start or removal failed');
  assert.equal(ids.length, total);
  for (const id of ids) assert.deepEqual(await leftovers(f, id), [], `container ${id} left something`);
  // the parent stays while the engine lives (it is removed with the engine)
  assert.ok((await allHierarchies()).some((h) => existsSync(join(h, `shoal-${f.prefix}`))), 'the parent cgroup is kept for the next start');
});
