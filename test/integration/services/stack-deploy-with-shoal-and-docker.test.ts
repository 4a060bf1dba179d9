/**
 * Stacks against the service/secret/config plugins with simulated nodes: `shoal stack deploy` of a
 * 3-service compose file (published port, two networks, a volume, a secret and a config) converges;
 * ls/services/ps show it; a second deploy after editing replicas and one image changes only that
 * (the untouched service's tasks keep running as they were); a bad compose file deploys nothing;
 * `stack rm` removes every object of the stack and nothing else; the unmodified `docker stack deploy`
 * deploys the same file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimCluster } from './sim-cluster.js';
import { buildServiceApi } from './api-server.js';

const SHOAL = new URL('../../../cli/shoal.js', import.meta.url).pathname;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.end();
    const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

const compose = (webImage: string, apiReplicas: number) => `
services:
  web:
    image: ${webImage}
    ports: ["8080:80"]
    networks: [front]
    configs: [{source: site_conf, target: /etc/site.conf}]
    deploy: {replicas: 2}
  api:
    image: api:\${API_TAG:-1}
    networks: [front, back]
    secrets: [db_pass]
    environment: {DB_HOST: store}
    deploy: {replicas: ${apiReplicas}}
  store:
    image: redis:7
    networks: [back]
    volumes: [storedata:/data]
    secrets: [db_pass]
networks: {front: {}, back: {}}
volumes: {storedata: {}}
secrets: {db_pass: {file: ./db_pass.txt}}
configs: {site_conf: {file: ./site.conf}}
`;

test('shoal stack deploy/ls/services/ps/rm and docker stack deploy on simulated nodes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-stack-'));
  const sock = join(dir, 'api.sock');
  const c = new SimCluster();
  await c.start();
  const app = buildServiceApi(c.store);
  const env = { DOCKER_HOST: `unix://${sock}`, SHOAL_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'cfg') };
  const shoal = (args: string[]) => run(process.execPath, [SHOAL, ...args], env, dir);
  const docker = (args: string[]) => run('docker', args, env, dir);
  const services = () => c.store.view((tx) => tx.find('services'));
  const running = (name: string) => {
    const s = services().find((x) => x.Spec.Name === name);
    return s ? c.running(s.ID) : [];
  };
  try {
    for (const n of ['stk1', 'stk2']) await c.addNode(`${n}xxxxxxxxxxxxxxxxxxxxxx`.slice(0, 25), { hostname: n });
    await app.listen({ path: sock });
    writeFileSync(join(dir, 'db_pass.txt'), 'hunter2\n');
    writeFileSync(join(dir, 'site.conf'), 'listen 80\n');
    // something outside the stack that stack rm must leave alone
    assert.equal((await shoal(['secret', 'create', 'outside', join(dir, 'site.conf')])).code, 0);
    assert.equal((await shoal(['service', 'create', '-d', '--name', 'bystander', 'app:1'])).code, 0);

    // a bad compose file deploys nothing
    writeFileSync(join(dir, 'bad.yml'), compose('nginx:alpine', 1).replace('"8080:80"', '"8080:http"'));
    const bad = await shoal(['stack', 'deploy', '-c', 'bad.yml', 'app']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /services\.web\.ports\[0\]: invalid port "8080:http"/);
    assert.equal(services().length, 1, 'nothing deployed');

    writeFileSync(join(dir, 'compose.yml'), compose('nginx:alpine', 2));
    const d1 = await shoal(['stack', 'deploy', '-c', 'compose.yml', 'app']);
    assert.equal(d1.code, 0, d1.stderr);
    assert.match(d1.stdout, /Creating network app_back\nCreating network app_front\nCreating secret app_db_pass\nCreating config app_site_conf\nCreating service app_web\nCreating service app_api\nCreating service app_store\n/);
    await c.until('stack converged', () => running('app_web').length === 2 && running('app_api').length === 2 && running('app_store').length === 1);
    const web = services().find((s) => s.Spec.Name === 'app_web')!;
    assert.equal(web.Endpoint?.Ports?.[0]?.PublishedPort, 8080);
    assert.ok(running('app_api')[0]!.NetworksAttachments?.length === 2, 'api attached to front and back');

    assert.match((await shoal(['stack', 'ls'])).stdout, /^NAME\s+SERVICES\napp\s+3\n$/);
    const ss = await shoal(['stack', 'services', 'app']);
    assert.match(ss.stdout, /app_api\s+replicated\s+2\/2\s+api:1/);
    assert.match(ss.stdout, /app_web\s+replicated\s+2\/2\s+nginx:alpine\s+\*:8080->80\/tcp/);
    const ps = await shoal(['stack', 'ps', 'app']);
    assert.equal(ps.stdout.trim().split('\n').length, 1 + 5, ps.stdout);

    // second deploy: api replicas 2 → 3 and web's image changes; store is untouched
    const storeTasks = running('app_store').map((t) => t.ID);
    writeFileSync(join(dir, 'compose.yml'), compose('nginx:1.27', 3));
    const d2 = await shoal(['stack', 'deploy', '-c', 'compose.yml', 'app']);
    assert.equal(d2.code, 0, d2.stderr);
    assert.match(d2.stdout, /Updating service app_web \(id: \w+\)/);
    assert.ok(!/Creating/.test(d2.stdout), 'nothing created the second time');
    await c.until('api at 3, web on the new image', () => running('app_api').length === 3 && running('app_web').length === 2 && running('app_web').every((t) => t.Spec.ContainerSpec.Image === 'nginx:1.27'), 60_000);
    assert.deepEqual(running('app_store').map((t) => t.ID), storeTasks, 'the unchanged service was not restarted');

    const rm = await shoal(['stack', 'rm', 'app']);
    assert.equal(rm.code, 0, rm.stderr);
    await c.until('stack gone', () => services().length === 1);
    assert.deepEqual(services().map((s) => s.Spec.Name), ['bystander']);
    assert.deepEqual(c.store.view((tx) => tx.find('secrets').map((s) => s.Spec.Name)), ['outside']);
    // the swarm's ingress network (made by the allocator at start) is not the stack's
    const stackNetworks = () => c.store.view((tx) => tx.find('networks').filter((n) => n.Spec.Ingress !== true).map((n) => n.Spec.Name));
    assert.deepEqual(stackNetworks(), []);
    assert.deepEqual(c.store.view((tx) => tx.find('networks').map((n) => n.Spec.Name)), ['ingress'], 'stack rm leaves the ingress network');
    assert.equal(c.store.view((tx) => tx.count('configs')), 0);

    // the unmodified docker CLI converts the same file itself and calls the API
    writeFileSync(join(dir, 'compose.yml'), compose('nginx:alpine', 1));
    const dd = await docker(['stack', 'deploy', '--resolve-image', 'never', '-c', 'compose.yml', 'dk']);
    assert.equal(dd.code, 0, dd.stderr + dd.stdout);
    await c.until('docker stack converged', () => running('dk_web').length === 2 && running('dk_api').length === 1 && running('dk_store').length === 1);
    assert.match((await docker(['stack', 'services', 'dk'])).stdout, /dk_store\s+replicated\s+1\/1/);
    const drm = await docker(['stack', 'rm', 'dk']);
    assert.equal(drm.code, 0, drm.stderr);
    await c.until('docker stack gone', () => services().length === 1 && stackNetworks().length === 0 && c.store.view((tx) => tx.count('configs')) === 0);
  } finally {
    await app.close();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
