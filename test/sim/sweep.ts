// The seed sweep that `npm test` runs: a range of seeds with the sweep's default shape, on worker
// threads; it fails with each failing seed's replay command and prints what the range exercised.
import assert from 'node:assert/strict';
import { runSeeds, sweepOptions } from './run-seeds.js';
import type { SeedSummary } from './sim-worker.js';

const TICKS_PER_UNIT = 0.1; // a tick is 10 units of virtual time
const TICK_MS = 100; // the production tick

/** CPU time of this process (all its threads) since `from`, in seconds. */
export function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

/** A summary of a sweep: outcome, speed, virtual time covered and what the runs exercised. */
export function describeSweep(results: readonly SeedSummary[], seconds: number, cpuSeconds: number): string {
  const failed = results.filter((r) => !r.ok);
  const sum = (f: (r: SeedSummary) => number): number => results.reduce((a, r) => a + f(r), 0);
  const drivers = new Map<string, number>();
  for (const r of results) drivers.set(r.driver, (drivers.get(r.driver) ?? 0) + 1);
  const virtualTicks = sum((r) => r.virtualTime) * TICKS_PER_UNIT;
  const first = results[0]?.seed ?? 0;
  const last = results[results.length - 1]?.seed ?? 0;
  return `seeds ${first}..${last}: ${results.length - failed.length} passed, ${failed.length} failed, ` +
    `${seconds.toFixed(1)} s on 2 worker threads (${(results.length / seconds).toFixed(1)} seeds/s), ` +
    `${cpuSeconds.toFixed(1)} CPU-s (${(results.length / cpuSeconds).toFixed(1)} seeds per CPU-second); ` +
    `virtual time ${Math.round(virtualTicks)} ticks (${(virtualTicks * TICK_MS / 3_600_000).toFixed(1)} h at ${TICK_MS} ms per tick)\n` +
    `  events ${sum((r) => r.events)}, messages ${sum((r) => r.messages)} (dropped or cut ${sum((r) => r.dropped)}, ` +
    `duplicated ${sum((r) => r.duplicated)}), partitions ${sum((r) => r.partitions)}, pauses ${sum((r) => r.pauses)}, crashes ${sum((r) => r.crashes)}, ` +
    `Readies lost before their fsync ${sum((r) => r.readiesLost)}, leaders ${sum((r) => r.leaders)}, ` +
    `snapshots installed ${sum((r) => r.snapshotsApplied)}, conf changes applied ${sum((r) => r.confChangesApplied)}, ` +
    `client ops checked for linearizability ${sum((r) => r.historyOps)}; driver modes ` +
    [...drivers].sort().map(([k, v]) => `${k} ${v}`).join(', ');
}

/**
 * Runs seeds [base, base + count) (SIM_SEED_BASE shifts, SIM_SEEDS overrides count) and asserts that
 * every one passes and that the range exercised snapshots, membership changes and pipelined fsyncs.
 */
export async function sweepRange(base: number, count: number): Promise<SeedSummary[]> {
  const shift = Number(process.env['SIM_SEED_BASE'] ?? '0');
  const n = Number(process.env['SIM_SEEDS'] ?? String(count));
  assert.ok(Number.isInteger(n) && n > 0, 'SIM_SEEDS must be a positive integer');
  assert.ok(Number.isInteger(shift) && shift >= 0, 'SIM_SEED_BASE must be a non-negative integer');
  const first = base + shift;
  const runs = Array.from({ length: n }, (_, i) => sweepOptions(first + i));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const results = await runSeeds(runs, 2);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpu);
  const failed = results.filter((r) => !r.ok);
  const sum = (f: (r: SeedSummary) => number): number => results.reduce((a, r) => a + f(r), 0);
  console.log(describeSweep(results, seconds, cpuSeconds));
  const report = failed.slice(0, 10).map((r) => `seed ${r.seed} — replay: ${r.command}\n  ${r.at ?? ''}\n  ${(r.failure ?? '').split('\n').join('\n  ')}`);
  assert.equal(failed.length, 0, `${failed.length} of ${results.length} seeds failed (add --trace to a replay command to see every event):\n${report.join('\n')}`);
  if (n >= 100) {
    assert.ok(sum((r) => r.snapshotsApplied) > 0, 'no run installed a snapshot: compaction is not exercised');
    assert.ok(sum((r) => r.confChangesApplied) > 0, 'no run applied a membership change');
    assert.ok(sum((r) => r.readiesLost) > 0, 'no crash fell between a Ready and its fsync');
    assert.ok(sum((r) => r.duplicated) > 0 && sum((r) => r.partitions) > 0, 'the network faults did not happen');
  }
  return results;
}
