/**
 * `shoal service …` (the compiled CLI, in a child process) against serviceRoutes on a unix socket with
 * simulated nodes: create waits for convergence, ls/ps print docker's columns, scale, update --image,
 * rollback, rm, and a daemon error exits 1 with docker's prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

const SHOAL = new URL('../../../cli/shoal.js', import.meta.url).pathname;

function shoal(sock: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SHOAL, '-H', `unix://${sock}`, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('shoal service create/ls/ps/scale/update/rollback/rm', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-svc-shoal-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    await c.addNode('shnode1', { hostname: 'alpha' });
    await c.addNode('shnode2', { hostname: 'beta' });
    await app.listen({ path: sock });
    const cr = await shoal(sock, ['service', 'create', '--name', 'api', '--replicas', '4', '--update-monitor', '100ms', '--rollback-monitor', '100ms', '-p', '9000:80', 'app:1']);
    assert.equal(cr.code, 0, cr.stderr);
    const id = cr.stdout.split('\n')[0]!;
    assert.match(cr.stdout, new RegExp(`overall progress: 4 out of 4 tasks\\n[\\s\\S]*verify: Service ${id} converged`));

    const ls = await shoal(sock, ['service', 'ls']);
    assert.match(ls.stdout, /^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS\n\w{12}\s+api\s+replicated\s+4\/4\s+app:1\s+\*:9000->80\/tcp\n$/);

    const ps = await shoal(sock, ['service', 'ps', 'api']);
    const rows = ps.stdout.trim().split('\n');
    assert.match(rows[0]!, /^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS$/);
    assert.equal(rows.length, 5);
    assert.ok(rows.slice(1).every((r) => /^\w{12}\s+api\.[1-4]\s+app:1\s+(alpha|beta)\s+Running\s+Running /.test(r)), ps.stdout);

    const sc = await shoal(sock, ['service', 'scale', 'api=1']);
    assert.equal(sc.code, 0, sc.stderr);
    assert.match(sc.stdout, /^api scaled to 1\n/);
    assert.match(sc.stdout, /overall progress: 1 out of 1 tasks/);

    const up = await shoal(sock, ['service', 'update', '--image', 'app:2', 'api']);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(c.running(id).map((t) => t.Spec.ContainerSpec.Image), ['app:2']);
    const ps2 = await shoal(sock, ['service', 'ps', 'api']);
    assert.match(ps2.stdout, /api\.1\s+app:2\s+\w+\s+Running[\s\S]*\\_ api\.1\s+app:1\s+\w+\s+Shutdown\s+Shutdown/);

    const rb = await shoal(sock, ['service', 'rollback', 'api']);
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, /^api\nrollback: manually requested rollback\n/);
    assert.deepEqual(c.running(id).map((t) => t.Spec.ContainerSpec.Image), ['app:1']);

    const bad = await shoal(sock, ['service', 'create', '--name', 'neg', '--replicas', '-2', 'app:1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error response from daemon: Mode\.Replicated\.Replicas: -2 must be non-negative\n$/);

    const rm = await shoal(sock, ['service', 'rm', 'api']);
    assert.equal(rm.stdout, 'api\n');
    await c.until('no tasks', () => c.tasks().length === 0);
    const missing = await shoal(sock, ['service', 'rm', 'api']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /service api not found/);
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shoal service create --mode global waits until every eligible node runs a task', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-svc-shoal-g-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    for (const id of ['gnode1', 'gnode2', 'gnode3']) await c.addNode(id);
    await app.listen({ path: sock });
    const cr = await shoal(sock, ['service', 'create', '--name', 'mon', '--mode', 'global', '--update-monitor', '100ms', 'agent:1']);
    assert.equal(cr.code, 0, cr.stderr);
    const id = cr.stdout.split('\n')[0]!;
    assert.match(cr.stdout, /overall progress: 3 out of 3 tasks\n/);
    assert.doesNotMatch(cr.stdout, /overall progress: 0 out of 0 tasks/);
    assert.equal(c.running(id).length, 3);
    const ls = await shoal(sock, ['service', 'ls']);
    assert.match(ls.stdout, /mon\s+global\s+3\/3\s+agent:1/);
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
