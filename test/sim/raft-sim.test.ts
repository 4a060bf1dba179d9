import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds, sweepOptions } from './run-seeds.js';
import { DEFAULT_DURATION } from './sim-defaults.js';

// SIM_SEEDS=5000 node test/run.mjs test/sim runs a longer sweep; SIM_SEED_BASE shifts the range.
test('every seed keeps the Raft invariants, makes progress once healed and yields a linearizable history', async () => {
  const count = Number(process.env['SIM_SEEDS'] ?? '500');
  const base = Number(process.env['SIM_SEED_BASE'] ?? '0');
  assert.ok(Number.isInteger(count) && count > 0, 'SIM_SEEDS must be a positive integer');
  const runs = Array.from({ length: count }, (_, i) => sweepOptions(base + i, DEFAULT_DURATION));
  const results = await runSeeds(runs, 2);
  const failed = results.filter((r) => !r.ok);
  const sum = (f: (r: (typeof results)[number]) => number): number => results.reduce((a, r) => a + f(r), 0);
  console.log(
    `simulated ${results.length} seeds: ${failed.length} failed; events ${sum((r) => r.events)}, ` +
      `leaders ${sum((r) => r.leaders)}, entries applied (max per run) ${sum((r) => r.maxApplied)}, ` +
      `client ops checked ${sum((r) => r.historyOps)}, snapshots installed ${sum((r) => r.snapshotsApplied)}, ` +
      `conf changes applied ${sum((r) => r.confChangesApplied)}, crashes ${sum((r) => r.crashes)}`,
  );
  const report = failed.slice(0, 10).map((r) => `seed ${r.seed} — replay: ${r.command} --trace\n  ${r.at ?? ''}\n  ${(r.failure ?? '').split('\n').join('\n  ')}`);
  assert.equal(failed.length, 0, `${failed.length} of ${results.length} seeds failed:\n${report.join('\n')}`);
  assert.ok(sum((r) => r.snapshotsApplied) > 0, 'no run installed a snapshot: compaction is not exercised');
  assert.ok(sum((r) => r.confChangesApplied) > 0, 'no run applied a membership change');
});
