// The seeded Raft simulator: N nodes on a virtual clock and network, driven by one seed. Every
// event (a tick, a delivered message, a client request, a fault) is followed by Ready processing on
// the nodes it touched and by the invariant checks; at the end the cluster is healed, must commit a
// write, and the clients' history must be linearizable.

import { MemoryStorage } from '../../manager/raft/core/memory-storage.js';
import { seededRandom, type NodeId } from '../../manager/raft/core/types.js';
import { checkOperations } from '../lin/check-operations.js';
import { kvModel } from '../lin/kv-model.js';
import { EventQueue, labelOf } from './event-queue.js';
import { SafetyMonitor } from './safety-monitor.js';
import { Chaos } from './sim-chaos.js';
import { SimClients } from './sim-clients.js';
import { Membership, MEMBERSHIP_PLANS, type MembershipPlan } from './sim-membership.js';
import { SimNetwork } from './sim-network.js';
import { DRIVER_MODES, randomFlow, SimNode, type Breakage, type DriverMode, type NodeEnv } from './sim-node.js';
import { emptyStats, type SimStats, type World } from './sim-world.js';
import { DEFAULT_DURATION } from './sim-defaults.js';

export interface SimOptions {
  seed: number;
  nodes: 3 | 5;
  /** Virtual time of the chaos phase (a tick is 10 units). */
  duration: number;
  /** Forced membership plan; by default the seed chooses. */
  membership?: MembershipPlan;
  breakage?: Breakage;
  /** Forced driver mode; by default the seed chooses. */
  driver?: DriverMode;
  /** Forced CheckQuorum / PreVote; by default the seed chooses. */
  checkQuorum?: boolean;
  preVote?: boolean;
  trace?: (line: string) => void;
}

export interface SimReport {
  ok: boolean;
  /** Why the run failed: an invariant, a core exception, no progress, or a non-linearizable history. */
  failure?: string;
  /** Virtual time and event of the failure. */
  at?: string;
  config: string;
  stats: SimStats & {
    events: number; leaders: number; maxApplied: number; historyOps: number; messages: number; dropped: number; duplicated: number;
    /** Virtual time the run covered (a tick is 10 units). */
    virtualTime: number;
    linearizability: string;
  };
}

const TICK = 10;
const STABILISE = 3000;
/** Search steps per key for the linearizability check (histories here need a few thousand). */
const LIN_MAX_STEPS = 2_000_000;
/** Events per unit of virtual time beyond which a run is a livelock (a message storm): a normal run has about 1. */
const MAX_EVENTS_PER_TIME = 20;

/** The shape every seed in the sweep runs with: 3 nodes, every third seed 5; the replay command's defaults. */
export function sweepOptions(seed: number, duration = DEFAULT_DURATION): SimOptions {
  return { seed, nodes: seed % 3 === 2 ? 5 : 3, duration };
}

/** The command line that replays one run (options equal to the sweep's defaults are left out). */
export function replayCommand(o: SimOptions): string {
  const d = sweepOptions(o.seed);
  let cmd = `node dist/test/sim/replay.js --seed ${o.seed}`;
  if (o.nodes !== d.nodes) cmd += ` --nodes ${o.nodes}`;
  if (o.duration !== d.duration) cmd += ` --duration ${o.duration}`;
  if (o.membership) cmd += ` --membership ${o.membership}`;
  if (o.breakage && o.breakage !== 'none') cmd += ` --breakage ${o.breakage}`;
  if (o.driver) cmd += ` --driver ${o.driver}`;
  if (o.checkQuorum !== undefined) cmd += ` --check-quorum ${o.checkQuorum}`;
  if (o.preVote !== undefined) cmd += ` --pre-vote ${o.preVote}`;
  return cmd;
}

export function runSim(o: SimOptions): SimReport {
  const rnd = seededRandom(o.seed);
  const q = new EventQueue();
  const stats = emptyStats();
  const monitor = new SafetyMonitor();
  const touched = new Set<SimNode>();
  const plan = o.membership ?? MEMBERSHIP_PLANS[rnd(MEMBERSHIP_PLANS.length)]!;
  let checkQuorum = rnd(2) === 0;
  let preVote = rnd(2) === 0;
  if (o.checkQuorum !== undefined) checkQuorum = o.checkQuorum;
  if (o.preVote !== undefined) preVote = o.preVote;
  const nodes = new Map<NodeId, SimNode>();
  const w: World = {
    q, rnd, nodes, stats, chaos: true, removed: new Set(), trace: o.trace, breakage: o.breakage ?? 'none',
    touch: (n) => { touched.add(n); },
    net: undefined as unknown as SimNetwork,
  };
  w.net = new SimNetwork(q, seededRandom((o.seed ^ 0x5eed) >>> 0), {
    deliver: function deliver(m) {
      const n = nodes.get(m.to);
      if (!n?.raw || w.removed.has(m.to) || w.removed.has(m.from)) return;
      // A paused process reads its socket when it wakes up.
      if (n.isPaused(q.now)) { q.at(n.pausedUntil, 'deliver after a pause', () => deliver(m)); return; }
      n.raw.step(m);
      touched.add(n);
    },
  });
  let membership: Membership | undefined;
  const env: NodeEnv = {
    q, net: w.net, monitor, seed: o.seed, checkQuorum, preVote, stepDownOnRemoval: rnd(2) === 0, flow: randomFlow(rnd), electionTick: 10,
    snapshotEvery: 12 + rnd(20), keepEntries: rnd(6), breakage: o.breakage ?? 'none', trace: o.trace,
    driver: o.driver ?? DRIVER_MODES[rnd(DRIVER_MODES.length)]!, fsyncDelay: 6, rnd,
    onConfApplied: (node, cc, cs) => membership?.onApplied(node, cc, cs),
    touch: (n) => { touched.add(n); },
    stats,
  };
  const startTicking = (n: SimNode): void => {
    // Clocks run at slightly different rates (9, 10 or 11 units per tick).
    const period = TICK - 1 + rnd(3);
    const tick = (): void => {
      if (n.raw && !w.removed.has(n.id) && !n.isPaused(q.now)) {
        n.raw.tick();
        touched.add(n);
      }
      q.after(period, `tick n${n.id}`, tick);
    };
    q.after(1 + rnd(period), `tick n${n.id}`, tick);
  };
  const addNode = (id: NodeId, disk: MemoryStorage): SimNode => {
    const n = new SimNode(id, disk, env);
    nodes.set(id, n);
    n.start();
    touched.add(n);
    startTicking(n);
    return n;
  };
  const initial = Array.from({ length: o.nodes }, (_, i) => i + 1);
  for (const id of initial) addNode(id, MemoryStorage.bootstrap(initial));
  membership = new Membership(w, plan, initial, (id) => addNode(id, new MemoryStorage()));
  const clients = new SimClients(w, { clients: 3, keys: 3, timeout: 400 });
  const chaos = new Chaos(w, { every: 120, maxDowntime: 600 });
  const config = `nodes=${o.nodes} membership=${membership.describe()} checkQuorum=${checkQuorum} preVote=${preVote} ` +
    `stepDownOnRemoval=${env.stepDownOnRemoval} flow=${JSON.stringify(env.flow)} ` +
    `snapshotEvery=${env.snapshotEvery} keep=${env.keepEntries} driver=${env.driver} breakage=${env.breakage}`;
  o.trace?.(`config: ${config}`);
  clients.start();
  chaos.start();
  membership.start();

  const probe: { state: 'pending' | 'ok' | 'failed' } = { state: 'pending' };
  q.at(o.duration, 'stabilise', () => {
    chaos.stabilise();
    q.after(500, 'probe', () => clients.probe(1000, q.now + STABILISE - 600, (ok) => { probe.state = ok ? 'ok' : 'failed'; }));
  });
  const end = o.duration + STABILISE;

  let events = 0;
  let failure: string | undefined;
  let at: string | undefined;
  const maxEvents = MAX_EVENTS_PER_TIME * end;
  for (let ev = q.pop(); ev !== undefined && ev.time <= end && probe.state === 'pending'; ev = q.pop()) {
    events++;
    if (events > maxEvents) {
      failure = `livelock: more than ${maxEvents} events by virtual time ${ev.time} (a message storm); last event "${labelOf(ev)}"`;
      at = `t=${ev.time} (event ${events})`;
      break;
    }
    try {
      if (o.trace) {
        const label = labelOf(ev);
        if (!label.startsWith('tick')) o.trace(`t=${ev.time} ${label}`);
      }
      ev.run();
      for (let guard = 0; touched.size > 0; guard++) {
        if (guard > 100) throw new Error('Ready processing does not settle');
        const batch = [...touched];
        touched.clear();
        for (const n of batch) {
          if (n.isPaused(q.now)) continue; // it is touched again when it wakes up
          n.process();
          const raw = n.raw;
          if (!raw) continue;
          const s = raw.status();
          const termOf = (i: number): number | undefined => raw.logTerm(i);
          monitor.checkCommit(n.id, s.hardState.commit, s.hardState.term, termOf);
          monitor.checkNode(n.id, {
            role: s.softState.role, term: s.hardState.term, commit: s.hardState.commit, applied: s.applied, config: s.config,
            progress: s.progress, incarnation: n.incarnation,
          }, n.applied, n.disk, env.flow.maxInflightMsgs, termOf);
        }
      }
    } catch (e) {
      failure = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      if (e instanceof Error && !(e.name === 'InvariantViolation') && e.stack) failure += `\n${e.stack.split('\n').slice(1, 6).join('\n')}`;
      at = `t=${ev.time} during "${labelOf(ev)}" (event ${events})`;
      break;
    }
  }
  let linearizability = 'not checked';
  if (failure === undefined && probe.state !== 'ok') {
    failure = 'no progress: a write did not commit within the stabilisation window after healing';
    at = `t=${q.now}`;
  }
  if (failure === undefined) {
    // A step budget, not a wall-clock one, so that a replay reaches the same verdict.
    const r = checkOperations(kvModel(), clients.history, { timeoutMs: Infinity, maxSteps: LIN_MAX_STEPS });
    linearizability = r.result;
    if (r.result === 'illegal') failure = `history not linearizable:\n${r.explanation}`;
    if (r.result === 'unknown') failure = `linearizability not decided for key ${r.key}: ${r.reason}`;
  }
  const maxApplied = Math.max(0, ...[...nodes.values()].map((n) => n.applied));
  return {
    ok: failure === undefined,
    ...(failure !== undefined ? { failure, at: at ?? '' } : {}),
    config,
    stats: {
      ...stats, events, leaders: monitor.leadersSeen, maxApplied, historyOps: clients.history.length,
      messages: w.net.sent, dropped: w.net.dropped, duplicated: w.net.duplicated, virtualTime: q.now, linearizability,
    },
  };
}
