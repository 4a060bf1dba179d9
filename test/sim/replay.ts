// Replays one simulator run from its seed:
//   node dist/test/sim/replay.js --seed <N> [--nodes 3|5] [--duration T] [--membership none|learner|replace|joint]
// --nodes and --duration default to what the seed sweep (npm test) used for that seed.
//                                [--breakage none|forget-vote|lose-acked-entries|local-reads]
//                                [--driver sync|leader-first|all-first] [--check-quorum true|false]
//                                [--pre-vote true|false] [--trace]
import { parseArgs } from 'node:util';
import { replayCommand, runSim, sweepOptions, type SimOptions } from './raft-sim.js';
import { MEMBERSHIP_PLANS, type MembershipPlan } from './sim-membership.js';
import { BREAKAGES, DRIVER_MODES, type Breakage, type DriverMode } from './sim-node.js';
import { DEFAULT_DURATION } from './sim-defaults.js';

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      nodes: { type: 'string' },
      duration: { type: 'string' },
      membership: { type: 'string' },
      breakage: { type: 'string', default: 'none' },
      driver: { type: 'string' },
      'check-quorum': { type: 'string' },
      'pre-vote': { type: 'string' },
      trace: { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  if (values.seed === undefined || !Number.isInteger(seed) || seed < 0) { console.error('--seed <non-negative integer> is required'); return 2; }
  const d = sweepOptions(seed, DEFAULT_DURATION);
  const nodes = values.nodes === undefined ? d.nodes : Number(values.nodes);
  const duration = values.duration === undefined ? d.duration : Number(values.duration);
  if (nodes !== 3 && nodes !== 5) { console.error('--nodes must be 3 or 5'); return 2; }
  if (!Number.isFinite(duration) || duration <= 0) { console.error('--duration must be a positive number'); return 2; }
  const m = values.membership;
  if (m !== undefined && !MEMBERSHIP_PLANS.includes(m as MembershipPlan)) { console.error(`--membership must be one of ${MEMBERSHIP_PLANS.join(', ')}`); return 2; }
  const b = values.breakage;
  if (!BREAKAGES.includes(b as Breakage)) { console.error(`--breakage must be one of ${BREAKAGES.join(', ')}`); return 2; }
  const dm = values.driver;
  if (dm !== undefined && !DRIVER_MODES.includes(dm as DriverMode)) { console.error(`--driver must be one of ${DRIVER_MODES.join(', ')}`); return 2; }
  const o: SimOptions = { seed, nodes, duration, breakage: b as Breakage };
  if (dm !== undefined) o.driver = dm as DriverMode;
  for (const [flag, key] of [['check-quorum', 'checkQuorum'], ['pre-vote', 'preVote']] as const) {
    const v = values[flag];
    if (v === undefined) continue;
    if (v !== 'true' && v !== 'false') { console.error(`--${flag} must be true or false`); return 2; }
    o[key] = v === 'true';
  }
  if (m !== undefined) o.membership = m as MembershipPlan;
  if (values.trace) o.trace = (line) => console.log(line);
  const r = runSim(o);
  console.log(`${replayCommand(o)}\n${r.config}\n${JSON.stringify(r.stats)}`);
  if (r.ok) {
    console.log('ok');
    return 0;
  }
  console.log(`FAILED at ${r.at}\n${r.failure}`);
  return 1;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = main(process.argv.slice(2));
}
