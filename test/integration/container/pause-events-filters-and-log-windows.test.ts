import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openFixture, runToExit, type Fixture } from './engine-fixture.js';
import { ContainerManager } from '../../../worker/engine/container/container-manager.js';
import { EngineError } from '../../../worker/engine/container/errors.js';
import type { ContainerEvent } from '../../../worker/engine/container/types.js';
import { logTimeSeconds } from '../../../worker/engine/container/log-reader.js';

let f: Fixture;
const events: ContainerEvent[] = [];
before(async () => {
  f = await openFixture();
  f.mgr.close();
  f.mgr = await ContainerManager.open({ dataRoot: f.dataRoot, execRoot: f.execRoot, prefix: f.prefix, images: f.images, networks: f.networks, volumes: f.volumes, emit: (e) => events.push(e), exitPollMs: 200 });
});
after(async () => {
  await f?.cleanup();
});

test('events: create, start, die (with exitCode), destroy in Docker shape', async () => {
  events.length = 0;
  const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'exit 3'], Labels: { team: 'blue' } }, `ev${process.pid}`);
  await f.mgr.remove(r.id);
  assert.deepEqual(events.filter((e) => e.Actor.ID === r.id).map((e) => e.Action), ['create', 'start', 'die', 'destroy']);
  const die = events.find((e) => e.Action === 'die')!;
  assert.equal(die.Type, 'container');
  assert.equal(die.Actor.Attributes['exitCode'], '3');
  assert.equal(die.Actor.Attributes['name'], `ev${process.pid}`);
  assert.equal(die.Actor.Attributes['team'], 'blue');
  assert.equal(die.from, 'busybox');
});

test('pause freezes the container, stop/kill refuse while paused, unpause resumes', async () => {
  const { Id } = await f.mgr.create({ Image: 'busybox', Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none' } });
  await f.mgr.start(Id);
  await f.mgr.pause(Id);
  assert.equal(readFileSync(`/sys/fs/cgroup/freezer/shoal-${f.prefix}/${Id}/freezer.state`, 'utf8').trim(), 'FROZEN');
  assert.equal((f.mgr.inspect(Id) as { State: { Status: string; Paused: boolean } }).State.Paused, true);
  await assert.rejects(f.mgr.kill(Id), (e: unknown) => e instanceof EngineError && e.status === 409);
  await f.mgr.unpause(Id);
  assert.equal((f.mgr.inspect(Id) as { State: { Status: string } }).State.Status, 'running');
  await f.mgr.pause(Id);
  await f.mgr.remove(Id, { force: true });
});

test('list: running only by default, all with filters on status, exited code, label, name and ancestor', async () => {
  const a = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'exit 2'], Labels: { tier: 'x' } }, `la${process.pid}`);
  const { Id: b } = await f.mgr.create({ Image: 'busybox', Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none' } }, `lb${process.pid}`);
  await f.mgr.start(b);
  const ids = (o: Parameters<ContainerManager['list']>[0]): string[] => f.mgr.list(o).map((r) => r.Id as string).sort();
  assert.deepEqual(ids({}), [b]);
  assert.deepEqual(ids({ all: true }), [a.id, b].sort());
  assert.deepEqual(ids({ all: true, filters: { status: ['exited'] } }), [a.id]);
  assert.deepEqual(ids({ all: true, filters: { exited: ['2'] } }), [a.id]);
  assert.deepEqual(ids({ all: true, filters: { label: ['tier=x'] } }), [a.id]);
  assert.deepEqual(ids({ all: true, filters: { name: [`lb${process.pid}`] } }), [b]);
  assert.deepEqual(ids({ all: true, filters: { ancestor: ['busybox'] } }), [a.id, b].sort());
  const row = f.mgr.list({ all: true, filters: { id: [a.id.slice(0, 10)] } })[0]!;
  assert.deepEqual(row.Names, [`/la${process.pid}`]);
  assert.equal(row.State, 'exited');
  assert.match(row.Status as string, /^Exited \(2\) /);
  await f.mgr.remove(a.id);
  await f.mgr.remove(b, { force: true });
});

test('logs since/until select by the line timestamps', async () => {
  const r = await runToExit(f.mgr, { Image: 'busybox', Cmd: ['sh', '-c', 'echo a; sleep 1.2; echo b; sleep 1.2; echo c'] });
  const all: { t: number; d: string }[] = [];
  for await (const e of f.mgr.logs(r.id, {})) all.push({ t: logTimeSeconds(e.time), d: e.data.toString() });
  assert.deepEqual(all.map((x) => x.d), ['a\n', 'b\n', 'c\n']);
  const pick = async (o: { since?: number; until?: number }): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of f.mgr.logs(r.id, o)) out.push(e.data.toString());
    return out;
  };
  assert.deepEqual(await pick({ since: all[1]!.t }), ['b\n', 'c\n']);
  assert.deepEqual(await pick({ until: all[1]!.t }), ['a\n', 'b\n']);
  assert.deepEqual(await pick({ since: all[1]!.t, until: all[1]!.t }), ['b\n']);
  await f.mgr.remove(r.id);
});
