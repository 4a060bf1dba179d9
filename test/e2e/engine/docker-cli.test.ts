/**
 * The real docker CLI (v28) against a real shoald: run, publish, logs -f, exec, stop, rm, save|load,
 * shared volumes, clear 4xx errors with nothing left behind, and a SIGKILLed daemon that comes back to
 * the containers it left running. Needs root, runc/crun, conmon and /usr/local/bin/docker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { DOCKER, rawRequest, ShoaldHarness } from './shoald-harness.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    c.setTimeout(5000, () => c.destroy(new Error(`no answer from 127.0.0.1:${port} within 5 s`)));
    c.on('connect', () => c.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('end', () => resolve(Buffer.concat(parts).toString()));
    c.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the docker CLI drives shoald', () => {
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

  test('docker run --rm busybox echo hi prints hi and leaves no container', async () => {
    const r = await h.docker(['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    const ps = await h.docker(['ps', '-aq']);
    assert.equal(ps.stdout.trim(), '', 'the --rm container is gone');
  });

  test('the exit code of the container is the exit code of docker run', async () => {
    const r = await h.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('a published port answers, exec runs in the container, stop and rm remove it', async () => {
    // the example: docker run -d --name w -p 18080:80 … (another free port when 18080 is taken)
    const port = (await portIsFree(18080)) ? 18080 : await freePort();
    const name = (await h.docker(['inspect', 'w'])).code === 0 ? `w${process.pid}` : 'w';
    const r = await h.docker(['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'httpd', '-f', '-p', '80']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), /^[0-9a-f]{64}$/);
    let answer = '';
    for (let i = 0; i < 50 && answer === ''; i++) {
      answer = await httpGet(port).catch(() => '');
      if (answer === '') await sleep(100);
    }
    assert.match(answer, /^HTTP\/1\.[01] \d{3}/, 'httpd answered through the published port');
    const ps = await h.docker(['ps']);
    assert.match(ps.stdout, new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp\\s+${name}`));
    const ls = await h.docker(['exec', name, 'ls', '/']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(ls.stdout.split('\n').includes('bin'), ls.stdout);
    const failing = await h.docker(['exec', name, 'sh', '-c', 'exit 4']);
    assert.equal(failing.code, 4);
    const stop = await h.docker(['stop', '-t', '1', name]);
    assert.equal(stop.code, 0, stop.stderr);
    const insp = await h.docker(['inspect', '--format', '{{.State.Status}}', name]);
    assert.equal(insp.stdout.trim(), 'exited');
    const rm = await h.docker(['rm', name]);
    assert.equal(rm.code, 0, rm.stderr);
    const gone = await h.docker(['inspect', name]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No such object/);
  });

  test('docker logs -f streams lines while the container runs and ends when it exits', async () => {
    const name = `logs${process.pid}`;
    const r = await h.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo one; sleep 1; echo two >&2; sleep 1; echo three']);
    assert.equal(r.code, 0, r.stderr);
    const p = spawn(DOCKER, ['logs', '-f', name], { env: { ...process.env, ...h.env } });
    let out = '';
    let err = '';
    let sawOneBeforeThree = false;
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('one') && !out.includes('three')) sawOneBeforeThree = true;
    });
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('close', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    assert.equal(code, 0, err);
    assert.equal(out, 'one\nthree\n');
    assert.equal(err, 'two\n');
    assert.ok(sawOneBeforeThree, 'the first line arrived before the last was written');
    const tail = await h.docker(['logs', '--tail', '1', name]);
    assert.equal(tail.stdout, 'three\n');
    assert.equal((await h.docker(['rm', name])).code, 0);
  });

  test('docker save | docker load keeps the image ID', async () => {
    const id = (await h.docker(['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const ref = `e2e/copy${process.pid}:1`;
    assert.equal((await h.docker(['tag', 'busybox', ref])).code, 0);
    const file = join(h.dir, 'saved.tar');
    const save = await h.docker(['save', '-o', file, ref]);
    assert.equal(save.code, 0, save.stderr);
    const rmi = await h.docker(['rmi', ref]);
    assert.equal(rmi.code, 0, rmi.stderr);
    assert.match(rmi.stdout, new RegExp(`Untagged: ${ref}`));
    const load = await h.docker(['load', '-i', file]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, new RegExp(`Loaded image: ${ref}`));
    const again = (await h.docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();
    assert.equal(again, id);
    assert.equal((await h.docker(['rmi', ref])).code, 0);
  });

  test('two containers share a named volume', async () => {
    const vol = `v${process.pid}`;
    assert.equal((await h.docker(['volume', 'create', vol])).stdout.trim(), vol);
    const w = await h.docker(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'echo shared > /data/f']);
    assert.equal(w.code, 0, w.stderr);
    const r = await h.docker(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'cat', '/data/f']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'shared\n');
    const ls = await h.docker(['volume', 'ls', '-q']);
    assert.ok(ls.stdout.split('\n').includes(vol));
    assert.equal((await h.docker(['volume', 'rm', vol])).code, 0);
  });

  test('the issue\'s one-letter volume v works through --mount; -v v:/data is a drive path to the docker CLI and is refused', async () => {
    const taken = (await h.docker(['volume', 'inspect', 'v'])).code === 0;
    const vol = taken ? `v${process.pid}` : 'v';
    assert.equal((await h.docker(['volume', 'create', vol])).stdout.trim(), vol);
    const w = await h.docker(['run', '--rm', '--mount', `source=${vol},target=/data`, 'busybox', 'sh', '-c', 'echo one-letter > /data/f']);
    assert.equal(w.code, 0, w.stderr);
    const r = await h.docker(['run', '--rm', '--mount', `source=${vol},target=/data`, 'busybox', 'cat', '/data/f']);
    assert.equal(r.stdout, 'one-letter\n', r.stderr);
    // the docker CLI reads "v:/data" as one Windows-style path and sends it as an anonymous volume at
    // "v:/data"; the engine refuses that relative mount path as Docker's does, and creates nothing
    const before = (await h.docker(['volume', 'ls', '-q'])).stdout;
    const drive = await h.docker(['run', '--rm', '-v', 'v:/data', 'busybox', 'true']);
    assert.notEqual(drive.code, 0);
    assert.match(drive.stderr, /mount path must be absolute/);
    assert.equal((await h.docker(['volume', 'ls', '-q'])).stdout, before, 'no anonymous volume was left');
    assert.equal((await h.docker(['volume', 'rm', vol])).code, 0);
  });

  test('bad input gets a clear 4xx and leaves nothing behind', async () => {
    const before = (await h.docker(['ps', '-aq'])).stdout;
    const bad = await rawRequest(h.socket, 'POST', '/v1.45/containers/create', '{"Image": "busybox",');
    assert.equal(bad.status, 400);
    assert.match((JSON.parse(bad.body) as { message: string }).message, /invalid JSON/);

    // --pull never: no registry is contacted (tests talk to loopback only)
    const unknown = await h.docker(['run', '--rm', '--pull', 'never', 'nosuchimage', 'true']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /Error response from daemon: No such image: nosuchimage/);

    const port = await rawRequest(h.socket, 'POST', '/v1.45/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '99999' }] } } }));
    assert.ok(port.status >= 400 && port.status < 500, `invalid port → ${port.status} ${port.body}`);
    assert.match((JSON.parse(port.body) as { message: string }).message, /port/i);

    const bind = await h.docker(['run', '--rm', '-v', `/nonexistent-${process.pid}:/data`, 'busybox', 'true']);
    assert.notEqual(bind.code, 0);
    assert.match(bind.stderr, /Error response from daemon: .*nonexistent/);

    const name = `dup${process.pid}`;
    assert.equal((await h.docker(['create', '--name', name, 'busybox', 'true'])).code, 0);
    const dup = await h.docker(['create', '--name', name, 'busybox', 'true']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /Error response from daemon: .*(already in use|Conflict)/i);
    assert.equal((await h.docker(['rm', name])).code, 0);

    const after = (await h.docker(['ps', '-aq'])).stdout;
    assert.equal(after, before, 'no container was left by the failed requests');
  });

  test('after SIGKILL of shoald the running container is found again, with what it wrote meanwhile', async () => {
    const name = `survivor${process.pid}`;
    // the container marks the lines it writes while a flag file exists; the flag exists only while shoald is down
    const flags = join(h.dir, `flags-${name}`);
    mkdirSync(flags);
    const loop = 'trap "exit 0" TERM; i=0; while true; do if [ -e /flags/down ]; then echo down$i; else echo tick$i; fi; i=$((i+1)); sleep 0.1; done';
    const r = await h.docker(['run', '-d', '--name', name, '--network', 'none', '-v', `${flags}:/flags`, 'busybox', 'sh', '-c', loop]);
    assert.equal(r.code, 0, r.stderr);
    const pid = Number((await h.docker(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim());
    await h.stop('SIGKILL');
    writeFileSync(join(flags, 'down'), '');
    await sleep(1000);
    assert.doesNotThrow(() => process.kill(pid, 0), 'the container keeps running while shoald is gone');
    rmSync(join(flags, 'down'));
    await h.start();
    const ps = await h.docker(['ps', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout, new RegExp(`^${name} Up `), ps.stdout);
    const logs = await h.docker(['logs', name]);
    const down = logs.stdout.split('\n').filter((l) => l.startsWith('down'));
    assert.ok(down.length >= 3, `lines written while shoald was down are in docker logs (${down.length}): ${logs.stdout.slice(-300)}`);
    const stop = await h.docker(['stop', '-t', '5', name]);
    assert.equal(stop.code, 0, stop.stderr);
    const code = (await h.docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name])).stdout.trim();
    assert.equal(code, 'exited 0');
    assert.equal((await h.docker(['rm', name])).code, 0);
  });

  test('docker events replays container events with filters', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    assert.equal((await h.docker(['run', '--rm', 'busybox', 'true'])).code, 0);
    const until = Math.floor(Date.now() / 1000) + 1;
    const r = await h.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'type=container', '--filter', 'event=start']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /container start [0-9a-f]{64}/);
    assert.doesNotMatch(r.stdout, /volume|network|destroy/);
  });
});
