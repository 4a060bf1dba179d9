import { test } from 'node:test';
import { sweepRange } from './sweep.js';

// SIM_SEEDS=5000 node test/run.mjs test/sim/seeds runs longer sweeps; SIM_SEED_BASE shifts the ranges.
test('seeds 0-499: every run keeps the Raft invariants, makes progress once healed and yields a linearizable history', async () => {
  await sweepRange(0, 500);
});
