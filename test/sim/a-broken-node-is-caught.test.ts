import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from './run-seeds.js';
import type { SimOptions } from './raft-sim.js';
import type { Breakage } from './sim-node.js';

// The simulator must be able to fail. Each test runs a deliberately broken node wrapper over a range
// of seeds and expects some seed to be caught by a safety invariant (not merely by a crash), with a
// replay command printed for it.
async function caughtOn(breakage: Breakage, seeds: number, expected: RegExp, extra: Partial<SimOptions> = {}): Promise<void> {
  const runs: SimOptions[] = Array.from({ length: seeds }, (_, i) => ({
    seed: i, nodes: i % 2 === 0 ? 3 : 5, duration: 4000, breakage, ...extra,
  }));
  const results = await runSeeds(runs, 2);
  const caught = results.filter((r) => !r.ok);
  console.log(`${breakage}: caught on ${caught.length} of ${runs.length} seeds; first: ${caught[0]?.command ?? 'none'}\n${caught[0]?.failure ?? ''}`);
  assert.ok(caught.length > 0, `no seed caught a node with breakage ${breakage}`);
  assert.ok(caught.every((r) => r.command.includes(`--breakage ${breakage}`) && r.command.includes(`--seed ${r.seed}`)),
    'a failure does not print the command that replays it');
  assert.ok(caught.some((r) => expected.test(r.failure ?? '')),
    `caught only by unrelated failures: ${caught.map((r) => r.failure).join('\n')}`);
}

test('a node that acknowledges votes without persisting them votes twice in a term after a restart, and is caught', async () => {
  // Double votes need dueling candidates: PreVote and the CheckQuorum lease make those rare.
  await caughtOn('forget-vote', 300, /one vote per term|election safety/, { checkQuorum: false, preVote: false });
});

test('a node whose acknowledged appends are not durable loses committed entries in a crash, and is caught', async () => {
  await caughtOn('lose-acked-entries', 30, /leader completeness|state machine safety|log matching/);
});

test('a node that answers gets from its own state without ReadIndex returns stale values, and the history is rejected', async () => {
  await caughtOn('local-reads', 10, /history not linearizable/);
});

test('a driver that calls advance() before its fsync completes (the Ready order broken) loses acknowledged state in a crash, and is caught', async () => {
  await caughtOn('advance-before-fsync', 10, /log matching|election safety|one vote per term|leader completeness|committed entries are final|state machine safety/, { driver: 'all-first' });
});
