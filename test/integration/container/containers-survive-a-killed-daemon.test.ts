import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFixture, type Fixture } from './engine-fixture.js';
import { logTimeSeconds } from '../../../worker/engine/container/log-reader.js';

let f: Fixture;
before(async () => {
  f = await openFixture();
});
after(async () => {
  await f?.cleanup();
});

function startChild(cmds: string[][]): Promise<{ ids: string[]; kill: () => Promise<void> }> {
  const script = new URL('./manager-child.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, JSON.stringify({ dataRoot: f.dataRoot, execRoot: f.execRoot, prefix: f.prefix, layer: f.layer, cmds })], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        resolve({
          ids: JSON.parse(out.split('\n')[0]!) as string[],
          kill: async () => {
            child.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`manager child exited with ${code}: ${err}`));
    });
  });
}

const state = (id: string): { Status: string; ExitCode: number; Running: boolean } => (f.mgr.inspect(id) as { State: { Status: string; ExitCode: number; Running: boolean } }).State;

test('SIGKILLed daemon: the container keeps running and logging, a reopened manager reattaches, stop works; later exits are recorded', async () => {
  f.mgr.close();
  const child = await startChild([
    ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo line $i; sleep 0.1; done'],
    ['sh', '-c', 'sleep 0.5; exit 7'],
  ]);
  const [writer, shortLived] = child.ids as [string, string];
  await child.kill();
  const killedAt = Date.now() / 1000;
  await new Promise((r) => setTimeout(r, 1200));
  const logFile = join(f.dataRoot, 'containers', writer, 'container.log');
  assert.ok(readFileSync(logFile, 'utf8').length > 0);
  await f.reopen();
  assert.equal(state(writer).Status, 'running');
  assert.equal(state(shortLived).Status, 'exited', 'an exit that happened while the daemon was down is recorded');
  assert.equal(state(shortLived).ExitCode, 7);
  assert.deepEqual(f.mgr.list({}).map((r) => r.Id), [writer]);
  const times: number[] = [];
  for await (const e of f.mgr.io.logs(writer, {})) times.push(logTimeSeconds(e.time));
  assert.ok(times.filter((t) => t > killedAt).length >= 3, 'lines written while the daemon was down are in the logs');
  await f.mgr.stop(writer, { t: 2 });
  assert.equal(state(writer).Status, 'exited');
  await f.mgr.remove(shortLived);

  // restart it under the new manager, then kill the container's process from outside: 137 is recorded
  const exited = f.mgr.wait(writer, 'next-exit');
  await f.mgr.start(writer);
  const pid = (f.mgr.inspect(writer) as { State: { Pid: number } }).State.Pid;
  process.kill(pid, 'SIGKILL');
  assert.equal((await exited).StatusCode, 137);
  assert.equal(state(writer).ExitCode, 137);
  await f.mgr.remove(writer);
});
