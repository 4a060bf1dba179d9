/**
 * The real docker CLI (v28) against the secret/config/service plugins with simulated nodes: `docker
 * secret create s -` (stdin), ls, inspect (no data anywhere in the answer), a service using the secret
 * and a config by name, `secret rm` refused while the service uses it (Docker's message), config
 * inspect showing its data, then rm of everything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

function docker(sock: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(sock, '..', 'cfg') } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => {});
    p.stdin.end(input ?? '');
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

test('docker secret/config create|ls|inspect|rm, a service using both, rm refused while in use', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-secret-cli-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  const plain = `pw-${process.pid}-${Date.now()}-plaintext`;
  try {
    await c.addNode('secnode1000000000000000000'.slice(0, 25), { hostname: 'secnode1' });
    await app.listen({ path: sock });

    const sc = await docker(sock, ['secret', 'create', '--label', 'tier=db', 'dbpass', '-'], plain);
    assert.equal(sc.code, 0, sc.stderr);
    const secretId = sc.stdout.trim();
    assert.match(secretId, /^[0-9a-z]{25}$/);
    const dup = await docker(sock, ['secret', 'create', 'dbpass', '-'], 'x');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /secret dbpass already exists/);
    const big = await docker(sock, ['secret', 'create', 'big', '-'], 'x'.repeat(500 * 1024));
    assert.notEqual(big.code, 0);
    assert.match(big.stderr, /Data: secret data must be larger than 0 and less than 500 KB/);

    const ls = await docker(sock, ['secret', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`${secretId}\\s+dbpass\\s`));
    const lsf = await docker(sock, ['secret', 'ls', '--filter', 'label=tier=web', '-q']);
    assert.equal(lsf.stdout.trim(), '');

    const insp = await docker(sock, ['secret', 'inspect', 'dbpass']);
    assert.equal(insp.code, 0, insp.stderr);
    const [obj] = JSON.parse(insp.stdout) as [{ ID: string; Spec: Record<string, unknown> }];
    assert.equal(obj.ID, secretId);
    assert.deepEqual(obj.Spec, { Name: 'dbpass', Labels: { tier: 'db' } });
    assert.ok(!insp.stdout.includes(plain) && !insp.stdout.includes(Buffer.from(plain).toString('base64')));

    const cfgFile = join(dir, 'app.conf');
    writeFileSync(cfgFile, 'listen 8080\n');
    const cc = await docker(sock, ['config', 'create', 'appconf', cfgFile]);
    assert.equal(cc.code, 0, cc.stderr);
    const cpretty = await docker(sock, ['config', 'inspect', '--pretty', 'appconf']);
    assert.equal(cpretty.code, 0, cpretty.stderr);
    assert.match(cpretty.stdout, /Data:\s*\n\s*listen 8080/);

    const svc = await docker(sock, ['service', 'create', '--no-resolve-image', '--detach', '--name', 'app', '--secret', 'dbpass', '--config', 'src=appconf,target=/etc/app.conf,mode=0400', 'busybox:1.36', 'sleep', '1d']);
    assert.equal(svc.code, 0, svc.stderr);
    const serviceId = svc.stdout.trim();
    await c.until('1 running', () => c.running(serviceId).length === 1);
    const t = c.running(serviceId)[0]!;
    assert.deepEqual(t.Spec.ContainerSpec.Secrets, [{ File: { Name: 'dbpass', UID: '0', GID: '0', Mode: 0o444 }, SecretID: secretId, SecretName: 'dbpass' }]);
    assert.equal(t.Spec.ContainerSpec.Configs?.[0]?.File?.Name, '/etc/app.conf');
    assert.equal(t.Spec.ContainerSpec.Configs?.[0]?.File?.Mode, 0o400);

    const busy = await docker(sock, ['secret', 'rm', 'dbpass']);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /secret 'dbpass' is in use by the following service: app/);
    const cbusy = await docker(sock, ['config', 'rm', 'appconf']);
    assert.match(cbusy.stderr, /config 'appconf' is in use by the following service: app/);

    const missing = await docker(sock, ['service', 'create', '--no-resolve-image', '--detach', '--name', 'app2', '--secret', 'nosuch', 'busybox:1.36']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /secret not found: nosuch/);

    assert.equal((await docker(sock, ['service', 'rm', 'app'])).code, 0);
    const rm = await docker(sock, ['secret', 'rm', 'dbpass']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await docker(sock, ['config', 'rm', 'appconf'])).code, 0);
    const gone = await docker(sock, ['secret', 'inspect', 'dbpass']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /secret dbpass not found/);
    assert.equal(c.store.view((tx) => tx.count('secrets') + tx.count('configs')), 0);
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
