// Runs many simulator seeds across worker threads and collects their summaries.
import { Worker } from 'node:worker_threads';
import type { SimOptions } from './raft-sim.js';
import type { SeedSummary } from './sim-worker.js';

export async function runSeeds(runs: SimOptions[], workers: number): Promise<SeedSummary[]> {
  const slices: SimOptions[][] = Array.from({ length: workers }, () => []);
  runs.forEach((r, i) => slices[i % workers]!.push(r));
  const url = new URL('./sim-worker.js', import.meta.url);
  const parts = await Promise.all(slices.filter((s) => s.length > 0).map((slice) => new Promise<SeedSummary[]>((resolve, reject) => {
    const w = new Worker(url, { workerData: { runs: slice } });
    let got: SeedSummary[] | undefined;
    w.once('message', (m: unknown) => { got = m as SeedSummary[]; });
    w.once('error', reject);
    w.once('exit', (code) => (got ? resolve(got) : reject(new Error(`simulator worker exited with code ${code} and no result`))));
  })));
  return parts.flat().sort((a, b) => a.seed - b.seed);
}

export { sweepOptions } from './raft-sim.js';
