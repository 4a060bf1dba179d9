// `npm start` / `npm run down`: the local lab. Brings up hosts (network namespaces on a private bridge),
// one shoald per host, the busybox base image on each, and a demo web server published on every host;
// then prints how to use it. A second `npm start` reuses what is up. `down` removes everything.
//
// The swarm (init/join, services across hosts) is not built yet: until it is, each host runs a
// standalone engine, and this says so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, apiOk } from '../deploy/cluster/api-client.js';
import { enginePid, logFile, startEngine, stopEngine } from '../deploy/cluster/engines.js';
import { downHosts, readLab, upHosts, type Lab, type LabHost } from '../deploy/cluster/hosts.js';
import { sweepHost } from '../deploy/cluster/sweep.js';

const LAB = process.env['SHOAL_LAB_NAME'] ?? 'demo';
const STATE_ROOT = process.env['SHOAL_LAB_ROOT'] ?? '/var/lib/shoal-lab';
const HOSTS = Number(process.env['SHOAL_LAB_HOSTS'] ?? '3');
const DEMO_PORT = 8080;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function say(s: string): void {
  process.stdout.write(`${s}\n`);
}

async function ensureBusybox(h: LabHost, layoutTar: () => string): Promise<void> {
  const r = await api(h.socket, 'GET', '/images/busybox:latest/json');
  if (r.status === 200) return;
  const tar = layoutTar();
  const { createReadStream } = await import('node:fs');
  await apiOk(h.socket, 'POST', '/images/load?quiet=1', undefined, { stream: createReadStream(tar), timeoutMs: 120_000 });
}

/** Builds busybox:latest once (deploy/base-image) and returns an OCI-layout tar of it. */
function busyboxTarBuilder(): { get: () => string; cleanup: () => void } {
  let dir: string | undefined;
  return {
    get() {
      if (dir) return join(dir, 'busybox.tar');
      dir = mkdtempSync(join(tmpdir(), 'shoal-busybox-'));
      const script = join(repoRoot, 'deploy', 'base-image', 'build-busybox.sh');
      const b = spawnSync('bash', [script, join(dir, 'layout')], { encoding: 'utf8' });
      if (b.status !== 0) throw new Error(`${script} failed: ${b.stderr}`);
      const t = spawnSync('tar', ['-C', join(dir, 'layout'), '-cf', join(dir, 'busybox.tar'), '.'], { encoding: 'utf8' });
      if (t.status !== 0) throw new Error(`tar failed: ${t.stderr}`);
      return join(dir, 'busybox.tar');
    },
    cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ensureDemo(h: LabHost): Promise<void> {
  const r = await api(h.socket, 'GET', '/containers/demo-web/json');
  if (r.status === 200) {
    const state = (JSON.parse(r.body) as { State?: { Running?: boolean } }).State;
    if (state?.Running) return;
    await apiOk(h.socket, 'DELETE', '/containers/demo-web?force=1');
  }
  const html = `hello from ${h.name} (${h.addr})`;
  await apiOk(h.socket, 'POST', '/containers/create?name=demo-web', {
    Image: 'busybox:latest',
    Cmd: ['sh', '-c', `mkdir -p /www && echo '${html}' > /www/index.html && exec httpd -f -p 80 -h /www`],
    ExposedPorts: { '80/tcp': {} },
    HostConfig: { PortBindings: { '80/tcp': [{ HostPort: String(DEMO_PORT) }] }, RestartPolicy: { Name: 'unless-stopped' } },
  });
  await apiOk(h.socket, 'POST', '/containers/demo-web/start');
}

function fetchFrom(from: LabHost, url: string): string {
  // curl, not busybox-static's wget: the latter segfaults on these hosts
  const r = spawnSync('nsenter', [`--net=${from.netnsPath}`, 'curl', '-sS', '-m', '3', url], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : `(failed: ${r.stderr.trim()})`;
}

async function up(): Promise<void> {
  if (!existsSync(join(repoRoot, 'dist', 'cli', 'shoald.js'))) {
    throw new Error('dist/cli/shoald.js is missing: run `npm run build` first (npm start does it)');
  }
  say(`shoal: bringing up the local lab "${LAB}" with ${HOSTS} hosts under ${STATE_ROOT}`);
  const lab = await upHosts({ name: LAB, hosts: HOSTS, stateRoot: STATE_ROOT });
  const bb = busyboxTarBuilder();
  try {
    for (const h of lab.hosts) {
      const reused = enginePid(h) !== undefined;
      await startEngine(h);
      say(`  ${h.name}  ${h.addr}  shoald ${reused ? 'already running' : 'started'} (log: ${logFile(h)})`);
      await ensureBusybox(h, bb.get);
      await ensureDemo(h);
    }
  } finally {
    bb.cleanup();
  }
  printUsage(lab);
}

function printUsage(lab: Lab): void {
  const [h1, h2] = [lab.hosts[0]!, lab.hosts[1] ?? lab.hosts[0]!];
  say('');
  say(`The demo web server runs on every host, published on port ${DEMO_PORT}. From ${h2.name}:`);
  say(`  $ nsenter --net=${h2.netnsPath} curl -s http://${h1.addr}:${DEMO_PORT}/`);
  say(`  ${fetchFrom(h2, `http://${h1.addr}:${DEMO_PORT}/`)}`);
  say('');
  say('Point the docker CLI (or shoal) at any host:');
  for (const h of lab.hosts) say(`  export DOCKER_HOST=unix://${h.socket}   # ${h.name}`);
  say('  docker ps; docker run --rm busybox echo hi; docker images; docker logs -f demo-web');
  say('');
  say('Not built yet: the swarm (init/join, services across hosts, overlay networks). Each host runs');
  say('a standalone engine for now.');
  say('Remove everything: npm run down');
}

async function down(): Promise<void> {
  const lab = readLab(STATE_ROOT, LAB);
  if (lab) {
    for (const h of lab.hosts) {
      if (enginePid(h) !== undefined) {
        const list = await api(h.socket, 'GET', '/containers/json?all=1').catch(() => undefined);
        if (list?.status === 200) {
          for (const c of JSON.parse(list.body) as { Id: string }[]) await api(h.socket, 'DELETE', `/containers/${c.Id}?force=1&v=1`);
        }
        await stopEngine(h);
      }
      await sweepHost(h);
    }
  }
  await downHosts(STATE_ROOT, LAB, { purge: true });
  say(`shoal: the local lab "${LAB}" is down; nothing of it is left.`);
}

const cmd = process.argv[2] ?? 'up';
const run = cmd === 'down' ? down : cmd === 'up' ? up : undefined;
if (!run) {
  process.stderr.write(`usage: start.js [up|down] (got ${cmd})\n`);
  process.exit(2);
}
run().catch((e: unknown) => {
  process.stderr.write(`shoal: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
