// A seed sweep from the command line (npm run sim -- --seeds N --from B):
//   node dist/test/sim/sweep-main.js [--seeds 1000] [--from 0] [--workers 2]
// Prints the summary and, for every failing seed, the one command that replays it. Exit 1 on a failure.
import { parseArgs } from 'node:util';
import { runSeeds, sweepOptions } from './run-seeds.js';
import { cpuSecondsSince, describeSweep } from './sweep.js';

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { seeds: { type: 'string', default: '1000' }, from: { type: 'string', default: '0' }, workers: { type: 'string', default: '2' } },
  });
  const seeds = Number(values.seeds);
  const from = Number(values.from);
  const workers = Number(values.workers);
  if (!Number.isInteger(seeds) || seeds <= 0) { console.error('--seeds must be a positive integer'); return 2; }
  if (!Number.isInteger(from) || from < 0) { console.error('--from must be a non-negative integer'); return 2; }
  if (!Number.isInteger(workers) || workers <= 0 || workers > 64) { console.error('--workers must be an integer in 1..64'); return 2; }
  const started = performance.now();
  const cpu = process.cpuUsage();
  const results = await runSeeds(Array.from({ length: seeds }, (_, i) => sweepOptions(from + i)), workers);
  console.log(describeSweep(results, (performance.now() - started) / 1000, cpuSecondsSince(cpu)).replace('2 worker threads', `${workers} worker thread${workers === 1 ? '' : 's'}`));
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) console.log(`FAILED seed ${r.seed}: ${r.command}\n  ${r.at ?? ''}\n  ${(r.failure ?? '').split('\n')[0]}`);
  return failed.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await main(process.argv.slice(2));
}
