// A worker thread that runs a list of simulator seeds and posts back one summary per seed.
import { parentPort, workerData } from 'node:worker_threads';
import { replayCommand, runSim, type SimOptions } from './raft-sim.js';

export interface WorkerJob {
  runs: SimOptions[];
}

export interface SeedSummary {
  seed: number;
  ok: boolean;
  command: string;
  failure?: string;
  at?: string;
  config: string;
  events: number;
  leaders: number;
  maxApplied: number;
  historyOps: number;
  snapshotsApplied: number;
  confChangesApplied: number;
  crashes: number;
  readiesLost: number;
  messages: number;
  dropped: number;
  duplicated: number;
  partitions: number;
  pauses: number;
  virtualTime: number;
  driver: string;
  linearizability: string;
}

function isJob(v: unknown): v is WorkerJob {
  return typeof v === 'object' && v !== null && Array.isArray((v as { runs?: unknown }).runs);
}

if (parentPort !== null && isJob(workerData)) {
  const out: SeedSummary[] = [];
  for (const o of workerData.runs) {
    let s: SeedSummary;
    try {
      const r = runSim(o);
      s = {
        seed: o.seed, ok: r.ok, command: replayCommand(o), config: r.config, events: r.stats.events,
        leaders: r.stats.leaders, maxApplied: r.stats.maxApplied, historyOps: r.stats.historyOps,
        snapshotsApplied: r.stats.snapshotsApplied, confChangesApplied: r.stats.confChangesApplied,
        crashes: r.stats.crashes, readiesLost: r.stats.readiesLost, messages: r.stats.messages, dropped: r.stats.dropped,
        duplicated: r.stats.duplicated, partitions: r.stats.partitions, pauses: r.stats.pauses, virtualTime: r.stats.virtualTime, driver: /driver=(\S+)/.exec(r.config)?.[1] ?? '?',
        linearizability: r.stats.linearizability,
        ...(r.failure !== undefined ? { failure: r.failure, at: r.at ?? '' } : {}),
      };
    } catch (e) {
      s = {
        seed: o.seed, ok: false, command: replayCommand(o), config: '', events: 0, leaders: 0, maxApplied: 0,
        historyOps: 0, snapshotsApplied: 0, confChangesApplied: 0, crashes: 0, readiesLost: 0, driver: '?',
        messages: 0, dropped: 0, duplicated: 0, partitions: 0, pauses: 0, virtualTime: 0, linearizability: 'not checked',
        failure: `simulator crashed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`,
      };
    }
    out.push(s);
  }
  parentPort.postMessage(out);
}
