import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { probeRuntime, RuntimeUnavailableError } from '../../../worker/engine/runtime/runtime-probe.js';
import { uniquePrefix } from './engine-fixture.js';

test('the probe returns a runtime that runs a container; forcing one that fails names the reason; no cgroup is left', async () => {
  const base = mkdtempSync('/tmp/shoal-probe-');
  const parent = `/shoal-${uniquePrefix()}`;
  try {
    const rt = await probeRuntime({ root: join(base, 'runtime'), scratchDir: join(base, 'scratch'), cgroupParent: parent });
    assert.ok(rt.name === 'crun' || rt.name === 'runc');
    assert.equal(rt.root, join(base, 'runtime'));
    const runc = await probeRuntime({ root: join(base, 'runtime'), scratchDir: join(base, 'scratch'), cgroupParent: parent, force: 'runc' });
    assert.equal(runc.name, 'runc');
    // crun works only where no controller sits in cgroup2 on a hybrid layout; either it works or the error says why
    try {
      const crun = await probeRuntime({ root: join(base, 'runtime'), scratchDir: join(base, 'scratch'), cgroupParent: parent, force: 'crun' });
      assert.equal(crun.name, 'crun');
      assert.equal(rt.name, 'crun', 'crun works here, so the default probe must prefer it');
    } catch (e) {
      assert.ok(e instanceof RuntimeUnavailableError);
      assert.match(e.message, /crun: /);
      assert.equal(rt.name, 'runc');
    }
    assert.equal(existsSync(`/sys/fs/cgroup/memory${parent}`), false);
    assert.equal(existsSync(`/sys/fs/cgroup/pids${parent}`), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
