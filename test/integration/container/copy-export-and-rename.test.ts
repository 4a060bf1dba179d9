import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openFixture, runToExit, type Fixture } from './engine-fixture.js';
import { EngineError } from '../../../worker/engine/container/errors.js';

let f: Fixture;
let tmp: string;
before(async () => {
  f = await openFixture();
  tmp = mkdtempSync('/tmp/shoal-cp-');
});
after(async () => {
  await f?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

async function drain(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('docker cp out and in through tar archives, with Docker\'s path stat; unknown paths are 404', async () => {
  const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'mkdir -p /out && echo made-inside > /out/a.txt'] });
  const { stat, stream } = await f.mgr.getArchive(r.id, '/out/a.txt');
  assert.equal(stat.name, 'a.txt');
  assert.equal(stat.size, 'made-inside\n'.length);
  const tarFile = join(tmp, 'out.tar');
  writeFileSync(tarFile, await drain(stream));
  mkdirSync(join(tmp, 'x'));
  execFileSync('tar', ['-C', join(tmp, 'x'), '-xf', tarFile]);
  assert.equal(readFileSync(join(tmp, 'x', 'a.txt'), 'utf8'), 'made-inside\n');
  assert.ok(((await f.mgr.statPath(r.id, '/out')).mode & 0x80000000) !== 0, 'directories carry Go\'s ModeDir bit');
  await assert.rejects(f.mgr.getArchive(r.id, '/nope'), (e: unknown) => e instanceof EngineError && e.status === 404);

  mkdirSync(join(tmp, 'in'));
  writeFileSync(join(tmp, 'in', 'b.txt'), 'from-host\n');
  const tarIn = execFileSync('tar', ['-C', join(tmp, 'in'), '-cf', '-', 'b.txt']);
  await f.mgr.putArchive(r.id, '/out', Readable.from([tarIn]));
  const exported = await drain(await f.mgr.export(r.id));
  const list = execFileSync('tar', ['-t'], { input: exported }).toString().split('\n');
  assert.ok(list.includes('./out/b.txt'));
  assert.ok(list.includes('./bin/busybox'));
  await f.mgr.remove(r.id);
});

test('rename changes the name and frees the old one; taken names are 409', async () => {
  const a = await f.mgr.create({ Image: 'busybox', Cmd: ['true'] }, `ra${process.pid}`);
  const b = await f.mgr.create({ Image: 'busybox', Cmd: ['true'] }, `rb${process.pid}`);
  await assert.rejects(f.mgr.rename(a.Id, `rb${process.pid}`), (e: unknown) => e instanceof EngineError && e.status === 409);
  await f.mgr.rename(a.Id, `rc${process.pid}`);
  assert.equal(f.mgr.resolveContainer(`rc${process.pid}`).id, a.Id);
  const c = await f.mgr.create({ Image: 'busybox', Cmd: ['true'] }, `ra${process.pid}`);
  for (const id of [a.Id, b.Id, c.Id]) await f.mgr.remove(id);
});

test('top lists the container\'s processes with Docker\'s titles', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 31 & sleep 32; echo'], HostConfig: { NetworkMode: 'none' } });
  await f.mgr.start(Id);
  let cmds: string[] = [];
  for (let i = 0; i < 50 && cmds.length < 3; i++) {
    cmds = (await f.mgr.top(Id)).Processes.map((p) => p[7]!);
    await new Promise((r) => setTimeout(r, 50));
  }
  const t = await f.mgr.top(Id);
  assert.deepEqual(t.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  assert.deepEqual(t.Processes.map((p) => p[7]).sort(), ['sh -c sleep 31 & sleep 32; echo', 'sleep 31', 'sleep 32']);
  assert.equal(t.Processes[0]![0], 'root');
  await f.mgr.remove(Id, { force: true });
});
