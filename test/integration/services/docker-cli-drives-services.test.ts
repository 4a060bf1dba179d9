/**
 * The real docker CLI (v28, on PATH) against serviceRoutes on a unix socket, with simulated nodes
 * playing the agents: create waits for convergence, ls/ps/inspect read our shapes, scale, update
 * --image rolls (--no-resolve-image: tests talk to 127.0.0.0/8 only; the digest pinning is tested with a
 * local registry in distribution-pins-images), rollback returns to the previous spec, rm removes the service and its tasks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

function docker(sock: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      args,
      { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(sock, '..', 'cfg') }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('docker service create/ls/ps/inspect/scale/update/rollback/rm against serviceRoutes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-svc-cli-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  try {
    for (const n of ['clinode1', 'clinode2', 'clinode3']) await c.addNode(`${n}00000000000000000`.slice(0, 25), { hostname: n });
    await app.listen({ path: sock });

    const created = await docker(sock, ['service', 'create', '--no-resolve-image', '--name', 'web', '--replicas', '5', '--update-monitor', '200ms', '--rollback-monitor', '200ms', '-p', '8080:80', 'busybox:1.36', 'httpd', '-f']);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim().split('\n')[0]!.trim();
    assert.match(created.stdout, new RegExp(`overall progress: 5 out of 5 tasks[\\s\\S]*verify: Service ${id} converged`));
    assert.equal(c.running(id).length, 5);

    const ls = await docker(sock, ['service', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /web\s+replicated\s+5\/5\s+busybox:1\.36\s+\*:8080->80\/tcp/);

    const ps = await docker(sock, ['service', 'ps', 'web']);
    assert.equal(ps.code, 0, ps.stderr);
    const rows = ps.stdout.trim().split('\n').slice(1);
    assert.equal(rows.length, 5);
    for (let i = 1; i <= 5; i++) assert.ok(rows.some((r) => new RegExp(`web\\.${i}\\s+busybox:1\\.36\\s+clinode\\d\\s+Running\\s+Running`).test(r)), ps.stdout);

    const insp = await docker(sock, ['service', 'inspect', '--format', '{{.Spec.UpdateConfig.Order}} {{.Spec.TaskTemplate.RestartPolicy.Condition}} {{(index .Endpoint.Ports 0).PublishedPort}}', 'web']);
    assert.equal(insp.code, 0, insp.stderr);
    assert.equal(insp.stdout.trim(), 'stop-first any 8080');

    const scaled = await docker(sock, ['service', 'scale', 'web=2']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.match(scaled.stdout, /web scaled to 2/);
    await c.until('2 running', () => c.running(id).length === 2 && c.tasks(id).length === 2);

    const upd = await docker(sock, ['service', 'update', '--no-resolve-image', '--image', 'busybox:1.37', 'web']);
    assert.equal(upd.code, 0, upd.stderr);
    assert.ok(c.running(id).every((t) => t.Spec.ContainerSpec.Image === 'busybox:1.37'));
    const st = await docker(sock, ['service', 'inspect', '--format', '{{.UpdateStatus.State}}', 'web']);
    assert.equal(st.stdout.trim(), 'completed');

    const rb = await docker(sock, ['service', 'rollback', 'web']);
    assert.equal(rb.code, 0, rb.stderr);
    await c.until('rolled back', () => c.running(id).length === 2 && c.running(id).every((t) => t.Spec.ContainerSpec.Image === 'busybox:1.36'));
    const status = () => c.store.view((tx) => tx.get('services', id)?.UpdateStatus?.State);
    await c.until('rollback_completed', () => status() === 'rollback_completed');
    const rst = await docker(sock, ['service', 'inspect', '--format', '{{.UpdateStatus.State}} {{.Spec.TaskTemplate.ContainerSpec.Image}}', 'web']);
    assert.equal(rst.stdout.trim(), 'rollback_completed busybox:1.36');

    const bad = await docker(sock, ['service', 'create', '--no-resolve-image', '--name', 'web', 'busybox']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Error response from daemon: .*service web already exists/);

    const rm = await docker(sock, ['service', 'rm', 'web']);
    assert.equal(rm.code, 0, rm.stderr);
    await c.until('tasks gone', () => c.tasks().length === 0);
    const gone = await docker(sock, ['service', 'ls', '-q']);
    assert.equal(gone.stdout.trim(), '');
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
