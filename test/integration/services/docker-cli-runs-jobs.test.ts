/**
 * Jobs through the real docker CLI: `service create --mode replicated-job` waits until TotalCompletions
 * tasks completed (MaxConcurrent at a time, slots 0…MaxConcurrent-1, JobIteration on tasks and
 * service); `service update --force` starts a new run (JobIteration + 1) and only its tasks count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

function docker(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${join(dir, 'api.sock')}`, DOCKER_CONFIG: join(dir, 'cfg') }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, stdout, stderr }),
    );
  });
}

test('docker service create --mode replicated-job waits for completion; update --force runs it again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-svc-job-'));
  const c = new SimCluster();
  c.completeImages.add('work:1');
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    await c.addNode('jobnode1');
    await c.addNode('jobnode2');
    await app.listen({ path: join(dir, 'api.sock') });
    const cr = await docker(dir, ['service', 'create', '--no-resolve-image', '--name', 'batch', '--mode', 'replicated-job', '--replicas', '5', '--max-concurrent', '2', 'work:1']);
    assert.equal(cr.code, 0, cr.stderr);
    assert.match(cr.stdout, /active tasks: 0 out of 0 tasks\njob complete\n$/);
    const id = cr.stdout.split('\n')[0]!.trim();
    const svc = () => c.store.view((tx) => tx.get('services', id)!);
    assert.equal(svc().JobStatus?.JobIteration.Index, 0);
    const run0 = c.tasks(id).filter((t) => t.JobIteration?.Index === 0);
    assert.equal(run0.filter((t) => t.Status.State === 'complete').length, 5);
    assert.deepEqual(run0.filter((t) => t.Status.State === 'complete').map((t) => t.Slot).sort(), [0, 1, 2, 3, 4], 'one slot per completion');

    const ls = await docker(dir, ['service', 'ls']);
    assert.match(ls.stdout, /batch\s+replicated job\s+0\/0 \(5\/5 completed\)/);

    const again = await docker(dir, ['service', 'update', '--no-resolve-image', '--force', 'batch']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(svc().JobStatus?.JobIteration.Index, 1);
    await c.until('second run complete', () => c.tasks(id).filter((t) => t.JobIteration?.Index === 1 && t.Status.State === 'complete').length === 5);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.tasks(id).filter((t) => t.JobIteration?.Index === 1).length, 5, 'no sixth task in the second run');
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
