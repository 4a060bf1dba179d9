/**
 * The compiled `shoal` CLI against the secret/config/service plugins with simulated nodes: secret and
 * config create (stdin and file), ls, inspect (--pretty; a secret's data never shown), a service with
 * --secret/--config, rotation with `service update --secret-rm old --secret-add source=new,target=old`
 * (tasks roll onto the new secret under the same target), rm refused while in use, `service logs`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';
import { MemoryLogSource } from './memory-log-source.js';

const SHOAL = new URL('../../../cli/shoal.js', import.meta.url).pathname;

function shoal(sock: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [SHOAL, '-H', `unix://${sock}`, ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => {});
    p.stdin.end(input);
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

test('shoal secret/config create|ls|inspect|rm, service --secret/--config, rotation, service logs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-secret-shoal-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const logs = new MemoryLogSource(c.store);
  const app = buildServiceApi(c.store, { logs });
  const plain = `pw-${process.pid}-${Date.now()}`;
  try {
    await c.addNode('shsecnode1xxxxxxxxxxxxxxx', { hostname: 'alpha' });
    await app.listen({ path: sock });
    const ok = async (args: string[], input?: string) => {
      const r = await shoal(sock, args, input);
      assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };

    const s1 = (await ok(['secret', 'create', '-l', 'env=prod', 'dbpass', '-'], plain)).trim();
    assert.match(s1, /^[0-9a-z]{25}$/);
    const empty = await shoal(sock, ['secret', 'create', 'none', '-'], '');
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /data is empty/);
    const ls = await ok(['secret', 'ls']);
    assert.match(ls, /^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED\n/);
    assert.match(ls, new RegExp(`${s1}\\s+dbpass\\s`));
    assert.equal((await ok(['secret', 'ls', '-q', '-f', 'label=env=dev'])).trim(), '');
    const insp = await ok(['secret', 'inspect', 'dbpass']);
    assert.equal((JSON.parse(insp) as { Spec: { Name: string } }[])[0]!.Spec.Name, 'dbpass');
    assert.ok(!insp.includes(plain) && !insp.includes(Buffer.from(plain).toString('base64')));
    assert.match(await ok(['secret', 'inspect', '--pretty', 'dbpass']), /Name:\s+dbpass\nLabels:\n - env=prod\nDriver:/);

    const cfgFile = join(dir, 'app.conf');
    writeFileSync(cfgFile, 'port = 8080\n');
    await ok(['config', 'create', 'appconf', cfgFile]);
    assert.match(await ok(['config', 'inspect', '--pretty', 'appconf']), /Data:\nport = 8080/);
    assert.match(await ok(['config', 'ls']), /^ID\s+NAME\s+CREATED\s+UPDATED\n[0-9a-z]{25}\s+appconf\s/);

    const svc = (await ok(['service', 'create', '-d', '--name', 'app', '--replicas', '2', '--secret', 'dbpass', '--config', 'source=appconf,target=/etc/app.conf,mode=0400', 'app:1'])).trim();
    await c.until('2 running', () => c.running(svc).length === 2);
    const t = c.running(svc)[0]!;
    assert.equal(t.Spec.ContainerSpec.Secrets?.[0]?.SecretID, s1);
    assert.deepEqual(t.Spec.ContainerSpec.Configs?.[0]?.File, { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o400 });

    // rotation: a new secret under the same target; the tasks roll onto it
    const s2 = (await ok(['secret', 'create', 'dbpass-v2', '-'], `${plain}-2`)).trim();
    await ok(['service', 'update', '-d', '--secret-rm', 'dbpass', '--secret-add', 'source=dbpass-v2,target=dbpass', 'app']);
    await c.until('rolled onto the new secret', () => {
      const r = c.running(svc);
      return r.length === 2 && r.every((x) => x.Spec.ContainerSpec.Secrets?.length === 1 && x.Spec.ContainerSpec.Secrets[0]!.SecretID === s2 && x.Spec.ContainerSpec.Secrets[0]!.File?.Name === 'dbpass');
    });
    const busy = await shoal(sock, ['secret', 'rm', 'dbpass-v2']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /^Error response from daemon: rpc error: code = InvalidArgument desc = secret 'dbpass-v2' is in use by the following service: app/);
    assert.equal((await ok(['secret', 'rm', 'dbpass'])).trim(), 'dbpass');

    // logs
    const byslot = new Map(c.running(svc).map((x) => [x.Slot, x.ID]));
    logs.publish(byslot.get(1)!, 'stdout', 'listening on 8080\n');
    logs.publish(byslot.get(2)!, 'stderr', 'warning: slow disk\n');
    const lg = await shoal(sock, ['service', 'logs', 'app']);
    assert.equal(lg.code, 0, lg.stderr);
    assert.match(lg.stdout, new RegExp(`^app\\.1\\.${byslot.get(1)!.slice(0, 12)}@alpha\\s+\\| listening on 8080$`, 'm'));
    assert.match(lg.stderr, /^app\.2\.\w{12}@alpha\s+\| warning: slow disk$/m);
    assert.equal((await ok(['service', 'logs', '--raw', byslot.get(2)!])).trim(), '');

    await ok(['service', 'rm', 'app']);
    await ok(['secret', 'rm', 'dbpass-v2']);
    await ok(['config', 'rm', 'appconf']);
    assert.equal(c.store.view((tx) => tx.count('secrets') + tx.count('configs')), 0);
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
