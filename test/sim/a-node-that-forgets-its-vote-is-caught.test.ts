import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from './run-seeds.js';
import type { SimOptions } from './raft-sim.js';

// The simulator must be able to fail: a node wrapper that acknowledges votes without persisting
// them (its disk always says "voted for nobody") lets a restarted node vote twice in one term.
test('a node that acknowledges votes without persisting them is caught by the invariant checks on some seed', async () => {
  const runs: SimOptions[] = Array.from({ length: 200 }, (_, i) => ({ seed: i, nodes: 3, duration: 4000, breakage: 'forget-vote' as const }));
  const results = await runSeeds(runs, 2);
  const caught = results.filter((r) => !r.ok);
  console.log(`forget-vote: caught on ${caught.length} of ${runs.length} seeds; first: ${caught[0]?.command ?? 'none'}\n${caught[0]?.failure ?? ''}`);
  assert.ok(caught.length > 0, 'no seed caught a node that forgets its votes');
  assert.ok(caught.some((r) => /election safety|leader completeness|state machine safety|log matching|linearizable/.test(r.failure ?? '')),
    `caught only by unrelated failures: ${caught.map((r) => r.failure).join('\n')}`);
});
