import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { replayCommand, runSim, sweepOptions, type SimOptions } from './raft-sim.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

test('running the same seed twice gives the same trace and the same outcome', () => {
  for (const seed of [7, 8]) {
    const a: string[] = [];
    const b: string[] = [];
    const ra = runSim({ seed, nodes: seed % 2 === 0 ? 5 : 3, duration: 2000, trace: (l) => a.push(l) });
    const rb = runSim({ seed, nodes: seed % 2 === 0 ? 5 : 3, duration: 2000, trace: (l) => b.push(l) });
    assert.ok(a.length > 100, 'the trace is too short to mean anything');
    assert.deepEqual(rb, ra);
    assert.deepEqual(b, a);
  }
});

test('the one command printed for a failing seed, run from the repository root, reproduces the same failure', async () => {
  // A broken driver fails on nearly every seed; take the first failing one.
  let o: SimOptions | undefined;
  let inProcess: ReturnType<typeof runSim> | undefined;
  for (let seed = 0; seed < 20 && inProcess?.ok !== false; seed++) {
    o = { ...sweepOptions(seed), breakage: 'advance-before-fsync', driver: 'all-first' };
    inProcess = runSim(o);
  }
  assert.ok(o && inProcess && !inProcess.ok, 'no seed in 0..19 failed with advance-before-fsync');
  const cmd = replayCommand(o);
  assert.match(cmd, new RegExp(`^node dist/test/sim/replay\\.js --seed ${o.seed} --breakage advance-before-fsync --driver all-first$`));
  const [exe, ...args] = cmd.split(' ');
  assert.equal(exe, 'node');
  const run = promisify(execFile);
  const err = await run(process.execPath, args, { cwd: repoRoot, timeout: 60_000 }).then(
    () => assert.fail('the replay exited 0 for a failing seed'),
    (e: unknown) => e as { code?: number; stdout?: string; stderr?: string },
  );
  const output = `stdout:\n${err.stdout}\nstderr:\n${err.stderr}`;
  assert.equal(err.code, 1, `the replay must exit 1 on a failure\n${output}`);
  assert.ok(err.stdout?.includes(`FAILED at ${inProcess.at}`), `replay output lacks the failure point ${inProcess.at}:\n${output}`);
  assert.ok(err.stdout?.includes(inProcess.failure!.split('\n')[0]!), `replay output lacks the failure:\n${output}`);
});

test('a passing seed replays to "ok" with exit code 0', async () => {
  const run = promisify(execFile);
  const out = await run(process.execPath, ['dist/test/sim/replay.js', '--seed', '3'], { cwd: repoRoot, timeout: 60_000 });
  assert.match(out.stdout, /\nok\n$/);
});
