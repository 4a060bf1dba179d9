/**
 * The real docker CLI (v28) against a real shoald, for the parts of issue 5 that docker-cli.test.ts
 * does not cover: isolation (own PID 1, hostname, mount table), `--memory` OOM kill and `--pids-limit`
 * seen through `docker run`/`docker inspect`, image layers unchanged by writes, exit codes of container
 * processes SIGKILLed while the daemon was down and after it came back, and bad input leaving no
 * mount, netns, cgroup, link or directory behind (each checked). Needs root, runc/crun, conmon and
 * /usr/local/bin/docker.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DOCKER, rawRequest, ShoaldHarness } from './shoald-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function treeDigest(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${p}|${st.mode}|${st.size}|${st.mtimeMs}|${st.uid}\n`);
      if (st.isFile()) h.update(readFileSync(p));
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return h.digest('hex');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the docker CLI sees isolation, limits and recovery on shoald', () => {
  let h: ShoaldHarness;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, mounts, cgroups)');
    if (!existsSync(DOCKER)) throw new Error(`this test needs the docker CLI at ${DOCKER}`);
    h = await ShoaldHarness.create();
    await h.start();
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  /** Everything of this engine that a container would leave: mounts, netns, links, cgroups, directories. */
  function footprint(): string[] {
    const out: string[] = [];
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) if (line.includes(h.dir)) out.push(`mount ${line.split(' ')[1]}`);
    if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) if (n.startsWith(`${h.prefix}-`)) out.push(`netns ${n}`);
    for (const l of readdirSync('/sys/class/net')) if (l.startsWith(h.prefix)) out.push(`link ${l}`);
    for (const ctl of readdirSync('/sys/fs/cgroup')) {
      const parent = join('/sys/fs/cgroup', ctl, `shoal-${h.prefix}`);
      if (!existsSync(parent)) continue;
      for (const e of readdirSync(parent)) if (statSync(join(parent, e)).isDirectory()) out.push(`cgroup ${ctl}/${e}`);
    }
    for (const d of ['containers', 'volumes']) for (const e of readdirSync(join(h.dataRoot, d))) out.push(`dir ${d}/${e}`);
    for (const e of readdirSync(h.execRoot)) if (e !== 'runtime' && e !== 'probe') out.push(`exec ${e}`);
    const rt = join(h.execRoot, 'runtime');
    if (existsSync(rt)) for (const e of readdirSync(rt)) out.push(`runtime ${e}`);
    return out.sort();
  }

  test('the container has its own PID 1, hostname and mount table', async () => {
    const r = await h.docker(['run', '--rm', '--hostname', 'box1', '--network', 'none', 'busybox', 'sh', '-c', 'echo pid=$$; hostname; set -- /proc/[0-9]*; echo procs=$#; cat /proc/mounts']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'pid=1');
    assert.equal(lines[1], 'box1');
    assert.ok(Number(lines[2]!.slice('procs='.length)) <= 3, `only the container's processes are visible: ${lines[2]}`);
    const mounts = lines.slice(3).filter((l) => l !== '');
    assert.match(mounts[0]!, /^overlay \/ overlay /, 'the root is the overlay snapshot');
    assert.ok(mounts.some((l) => / \/proc proc /.test(l)), 'its own /proc');
    assert.ok(!mounts.some((l) => l.includes(h.dir)), 'no host path of the engine is visible as a mount point');
    // without --hostname the hostname is the short container ID (Docker's default)
    const d = await h.docker(['run', '-d', 'busybox', 'sh', '-c', 'hostname; sleep 30']);
    const id = d.stdout.trim();
    let logs = '';
    for (let i = 0; i < 50 && logs === ''; i++) {
      logs = (await h.docker(['logs', id])).stdout;
      if (logs === '') await sleep(100);
    }
    assert.equal(logs, `${id.slice(0, 12)}\n`);
    assert.equal((await h.docker(['rm', '-f', id])).code, 0);
  });

  test('docker run --memory 32m with a 64 MB allocation exits 137 and docker inspect shows OOMKilled true', async () => {
    const name = `oom${process.pid}`;
    const r = await h.docker(['run', '--name', name, '--memory', '32m', '--network', 'none', 'busybox', 'sh', '-c', 'head -c 64m /dev/zero | tail']);
    assert.equal(r.code, 137, `exit ${r.code}: ${r.stdout} ${r.stderr}`);
    const insp = await h.docker(['inspect', '--format', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}', name]);
    assert.equal(insp.stdout.trim(), `true 137 ${32 * 1024 * 1024}`);
    assert.equal((await h.docker(['rm', name])).code, 0);
    // the same allocation without a limit completes
    const free = await h.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'head -c 64m /dev/zero | tail | wc -c']);
    assert.equal(free.code, 0, free.stderr);
  });

  test('docker run --pids-limit holds: forks beyond the limit fail, inside the limit they work', async () => {
    const r = await h.docker(['run', '--rm', '--pids-limit', '8', '--network', 'none', 'busybox', 'sh', '-c',
      'cat /sys/fs/cgroup/pids/pids.max; sh -c "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 30 & done" 2>/dev/null; echo inner=$?; set -- /proc/[0-9]*; echo procs=$#']);
    assert.equal(r.code, 0, r.stderr);
    const [max, inner, procs] = r.stdout.trim().split('\n');
    assert.equal(max, '8');
    assert.notEqual(inner, 'inner=0', 'the shell that forks beyond the limit fails');
    const n = Number(procs!.slice('procs='.length));
    assert.ok(n <= 8, `at most 8 processes ran at once, saw ${n}`);
    assert.ok(n >= 5, `the forks inside the limit worked, saw ${n}`);
  });

  test('writing inside a container never changes an image layer (checksums before and after)', async () => {
    const layersDir = join(h.dataRoot, 'image', 'layers');
    const layers = readdirSync(layersDir).filter((d) => !d.startsWith('.') && existsSync(join(layersDir, d, 'diff')));
    assert.ok(layers.length >= 1, 'busybox has at least one unpacked layer');
    const before = layers.map((l) => treeDigest(join(layersDir, l, 'diff')));
    const w = await h.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'echo x >> /etc/passwd && rm /bin/vi && chmod 700 /bin && mkdir -p /data && echo y > /data/f && touch /bin/ls && cat /data/f']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(w.stdout, 'y\n');
    assert.deepEqual(layers.map((l) => treeDigest(join(layersDir, l, 'diff'))), before);
    const fresh = await h.docker(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'test -e /bin/vi && test ! -e /data && grep -c "^x$" /etc/passwd']);
    assert.equal(fresh.stdout.trim(), '0', 'a new container sees the pristine image');
  });

  test('container processes SIGKILLed while shoald was down and after it came back have exit code 137 in docker inspect', async () => {
    const a = `killed-down${process.pid}`;
    const b = `killed-up${process.pid}`;
    for (const n of [a, b]) assert.equal((await h.docker(['run', '-d', '--name', n, '--network', 'none', 'busybox', 'sleep', '300'])).code, 0);
    const pidOf = async (n: string): Promise<number> => Number((await h.docker(['inspect', '--format', '{{.State.Pid}}', n])).stdout.trim());
    const pa = await pidOf(a);
    const pb = await pidOf(b);
    assert.ok(pa > 1 && pb > 1 && alive(pa) && alive(pb));
    await h.stop('SIGKILL');
    assert.ok(alive(pa) && alive(pb), 'the containers outlive a SIGKILLed daemon');
    process.kill(pa, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pa); i++) await sleep(100);
    await h.start();
    const state = async (n: string): Promise<string> => (await h.docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', n])).stdout.trim();
    let sa = await state(a);
    for (let i = 0; i < 50 && sa !== 'exited 137'; i++) {
      await sleep(100);
      sa = await state(a);
    }
    assert.equal(sa, 'exited 137', 'the exit while the daemon was down is recorded');
    assert.equal(await state(b), 'running 0');
    assert.equal(await pidOf(b), pb);
    const waiter = h.docker(['wait', b]);
    await sleep(200);
    process.kill(pb, 'SIGKILL');
    const w = await waiter;
    assert.equal(w.stdout.trim(), '137', w.stderr);
    assert.equal(await state(b), 'exited 137');
    const ps = await h.docker(['ps', '-a', '--filter', `name=${b}`, '--format', '{{.Status}}']);
    assert.match(ps.stdout, /Exited \(137\)/);
    for (const n of [a, b]) assert.equal((await h.docker(['rm', n])).code, 0);
  });

  test('each kind of bad input is a 4xx naming the problem and leaves no mount, netns, link, cgroup or directory', async () => {
    const before = footprint();
    const check = (what: string): void => assert.deepEqual(footprint(), before, `${what} left something behind`);
    const message = (body: string): string => (JSON.parse(body) as { message: string }).message;

    const malformed = await rawRequest(h.socket, 'POST', '/v1.45/containers/create', '{"Image": "busybox",');
    assert.equal(malformed.status, 400);
    assert.match(message(malformed.body), /invalid JSON/);
    check('malformed JSON');

    const unknown = await h.docker(['run', '--rm', '--pull', 'never', 'busybox-nosuch:9', 'true']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Error response from daemon: No such image: busybox-nosuch:9/);
    check('unknown image');

    for (const hostPort of ['99999', 'http', '-1']) {
      const r = await rawRequest(h.socket, 'POST', '/v1.45/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings: { '80/tcp': [{ HostPort: hostPort }] } } }));
      assert.ok(r.status >= 400 && r.status < 500, `host port ${hostPort} → ${r.status} ${r.body}`);
      assert.match(message(r.body), /port/i);
    }
    check('invalid port');

    const missing = `/nonexistent-${process.pid}-${h.prefix}`;
    const bind = await h.docker(['run', '--rm', '-v', `${missing}:/data`, 'busybox', 'true']);
    assert.notEqual(bind.code, 0);
    assert.match(bind.stderr, new RegExp(`Error response from daemon: .*${missing}`));
    assert.equal(existsSync(missing), false, 'the missing bind source was not created');
    check('bind of a missing path');

    const name = `dup${process.pid}`;
    const first = await h.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '30']);
    assert.equal(first.code, 0, first.stderr);
    const withOne = footprint();
    const dup = await h.docker(['run', '-d', '--name', name, '-p', '127.0.0.1::80', 'busybox', 'true']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, new RegExp(`Error response from daemon: .*"/${name}" is already in use`));
    assert.deepEqual(footprint(), withOne, 'the duplicate left nothing beyond the first container');
    assert.equal((await h.docker(['rm', '-f', name])).code, 0);
    check('duplicate name');

    // a command that is not in the image: create succeeds, start fails with a 4xx; the runtime's
    // mount, netns and cgroup are undone, and --rm removes the container
    const nocmd = await h.docker(['run', '--rm', 'busybox', '/no/such/binary']);
    assert.notEqual(nocmd.code, 0);
    assert.match(nocmd.stderr, /Error response from daemon: .*no\/such\/binary/);
    for (let i = 0; i < 50 && footprint().join() !== before.join(); i++) await sleep(100);
    check('a failed start');
    assert.equal((await h.docker(['ps', '-aq'])).stdout.trim(), '');
  });
});
