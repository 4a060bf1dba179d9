/**
 * The shoal CLI against a real shoald: run (with --rm, -d, -p, -e, -v), ps, logs, exec, stop, rm,
 * images, tag, rmi, save/load, import with changes, volume and network subcommands, error messages and
 * exit codes; and the daemon itself: one per data root, SIGTERM leaves containers running.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run, SHOAL, SHOALD, ShoaldHarness } from './shoald-harness.js';

describe('the shoal CLI drives shoald', () => {
  let h: ShoaldHarness;
  before(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (network namespaces, mounts, cgroups)');
    h = await ShoaldHarness.create();
    await h.start();
  });
  after(async () => {
    if (!h) return;
    const left = await h.cleanup();
    assert.deepEqual(left, [], `leftovers after cleanup: ${left.join(', ')}`);
  });

  test('run --rm prints the output, passes env, and returns the exit code', async () => {
    const r = await h.shoal(['run', '--rm', '-e', 'GREETING=hey', 'busybox', 'sh', '-c', 'echo $GREETING; exit 3']);
    assert.equal(r.stdout, 'hey\n');
    assert.equal(r.code, 3);
    assert.equal((await h.shoal(['ps', '-a', '-q'])).stdout, '');
  });

  test('run -d, ps, logs, exec, stop and rm', async () => {
    const name = `cli${process.pid}`;
    const d = await h.shoal(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo started; trap "exit 0" TERM; while true; do sleep 0.1; done']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout.trim(), /^[0-9a-f]{64}$/);
    const ps = await h.shoal(['ps']);
    assert.match(ps.stdout.split('\n')[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.match(ps.stdout, new RegExp(`Up .*${name}`));
    let logs = '';
    for (let i = 0; i < 30 && !logs.includes('started'); i++) {
      logs = (await h.shoal(['logs', name])).stdout;
      if (!logs.includes('started')) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(logs, 'started\n');
    const ex = await h.shoal(['exec', name, 'cat', '/etc/hostname']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(ex.stdout, /^[0-9a-f]{12}\n$/);
    const exCode = await h.shoal(['exec', name, 'sh', '-c', 'exit 6']);
    assert.equal(exCode.code, 6);
    assert.equal((await h.shoal(['stop', '-t', '5', name])).stdout, `${name}\n`);
    assert.equal((await h.shoal(['rm', name])).code, 0);
    assert.equal((await h.shoal(['ps', '-aq'])).stdout, '');
  });

  test('API errors print "Error response from daemon" and exit 1; a missing daemon is named', async () => {
    const r = await h.shoal(['rm', 'no-such-container']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error response from daemon: No such container: no-such-container/);
    const v = await h.shoal(['volume', 'inspect', 'no-such-volume']);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /Error response from daemon: .*no-such-volume/);
    const img = await h.shoal(['run', '--rm', 'no-such-image']);
    assert.equal(img.code, 1);
    assert.match(img.stderr, /Error response from daemon: No such image/);
    const port = await h.shoal(['run', '--rm', '-p', '99999:80', 'busybox', 'true']);
    assert.equal(port.code, 1);
    assert.match(port.stderr, /invalid port/);
    const gone = await run(process.execPath, [SHOAL, '-H', `unix://${join(h.dir, 'nobody.sock')}`, 'ps']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /Cannot connect to the shoal daemon at unix:\/\/.*nobody\.sock\. Is shoald running\?/);
  });

  test('images, tag, save, rmi, load and import with changes', async () => {
    const images = await h.shoal(['images']);
    assert.match(images.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    assert.match(images.stdout, /busybox\s+latest\s+[0-9a-f]{12}/);
    const ref = `cli/copy${process.pid}:2`;
    assert.equal((await h.shoal(['tag', 'busybox', ref])).code, 0);
    const file = join(h.dir, 'cli-saved.tar');
    assert.equal((await h.shoal(['save', '-o', file, ref])).code, 0);
    const rmi = await h.shoal(['rmi', ref]);
    assert.match(rmi.stdout, new RegExp(`Untagged: ${ref}`));
    const load = await h.shoal(['load', '-i', file]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, new RegExp(`Loaded image: ${ref}`));
    assert.equal((await h.shoal(['rmi', ref])).code, 0);

    const rootfs = join(h.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    execFileSync('cp', ['/bin/busybox', join(rootfs, 'bin', 'busybox')]);
    execFileSync('ln', ['-s', 'busybox', join(rootfs, 'bin', 'sh')]);
    writeFileSync(join(rootfs, 'hello.txt'), 'imported\n');
    const tar = join(h.dir, 'rootfs.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    const imported = `cli/imported${process.pid}:1`;
    const imp = await h.shoal(['import', '-c', 'ENV MARK=set', '-c', 'CMD ["/bin/sh","-c","cat /hello.txt; echo $MARK"]', tar, imported]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const r = await h.shoal(['run', '--rm', imported]);
    assert.equal(r.stdout, 'imported\nset\n');
    assert.equal((await h.shoal(['rmi', imported])).code, 0);
  });

  test('volume and network subcommands', async () => {
    const vol = `cv${process.pid}`;
    assert.equal((await h.shoal(['volume', 'create', vol])).stdout, `${vol}\n`);
    assert.match((await h.shoal(['volume', 'ls'])).stdout, new RegExp(`local\\s+${vol}`));
    const w = await h.shoal(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(w.code, 0, w.stderr);
    const r = await h.shoal(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'cat', '/data/f']);
    assert.equal(r.stdout, 'kept\n');
    const insp = JSON.parse((await h.shoal(['volume', 'inspect', vol])).stdout) as { Name: string }[];
    assert.equal(insp[0]!.Name, vol);
    assert.equal((await h.shoal(['volume', 'rm', vol])).code, 0);

    const net = `cn${process.pid}`;
    const c = await h.shoal(['network', 'create', net]);
    assert.equal(c.code, 0, c.stderr);
    assert.match((await h.shoal(['network', 'ls'])).stdout, new RegExp(`${net}\\s+bridge\\s+local`));
    const ov = await h.shoal(['network', 'create', '-d', 'overlay', `${net}o`]);
    assert.equal(ov.code, 1);
    assert.match(ov.stderr, /overlay networks need a swarm/);
    const ping = await h.shoal(['run', '--rm', '--network', net, 'busybox', 'sh', '-c', 'ip -4 addr show eth0 | grep -c inet']);
    assert.equal(ping.stdout, '1\n', ping.stderr);
    assert.equal((await h.shoal(['network', 'rm', net])).code, 0);
  });

  test('a second shoald on the same data root is refused; SIGTERM leaves containers running', async () => {
    const second = await run(process.execPath, [SHOALD, '--data-root', h.dataRoot, '--exec-root', join(h.dir, 'exec2'), '-H', `unix://${join(h.dir, 'second.sock')}`, '--prefix', 'zz'], { timeoutMs: 30_000 });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another shoald \(pid \d+\) is using this data root/);

    const name = `keep${process.pid}`;
    assert.equal((await h.shoal(['run', '-d', '--name', name, 'busybox', 'sleep', '60'])).code, 0);
    assert.equal(await h.stop('SIGTERM'), 0);
    await h.start();
    assert.match((await h.shoal(['ps'])).stdout, new RegExp(`Up .*${name}`));
    assert.equal((await h.shoal(['rm', '-f', name])).code, 0);
  });
});
