/**
 * The worker role of a shoald: the agent with its executor, started in one call. shoald (CLUSTER) calls
 * `startWorker` once the node has its certificate and stops it on leave or shutdown; containers keep
 * running across a stop (a restarted worker adopts them).
 */
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../manager/node/leader-loop.js';
import type { Engine } from '../engine/engine.js';
import type { PeerSource } from '../engine/image/peer-pull.js';
import { EngineExecutor } from '../executor/engine-executor.js';
import type { Executor } from '../executor/executor.js';
import { SimulatedExecutor } from '../executor/simulated-executor.js';
import { Agent } from './agent.js';
import type { BackoffConfig } from './backoff.js';

export interface WorkerOptions {
  /** the node-local engine; required unless `executor` is 'sim' or an Executor */
  engine?: Engine;
  /** 'engine' (default): real containers; 'sim': simulated tasks (shoald --executor sim); or any Executor */
  executor?: 'engine' | 'sim' | Executor;
  /** shoald's --data-root: the task set is kept in <dataDir>/worker */
  dataDir: string;
  /** manager addresses ("host:port") the agent may dial; the session then supplies the full list */
  managers: string[];
  /** mTLS with this node's certificate (CN = node ID) and the cluster root */
  credentials: grpc.ChannelCredentials;
  nodeId: string;
  log: Logger;
  /** the address other nodes reach this one at (its underlay address, the VXLAN source) */
  addr?: string;
  /** the node's hostname in its description (default: the host's) */
  hostname?: string;
  /** engine labels of the node description (`dockerd --label`) */
  engineLabels?: Record<string, string>;
  /** peer engines a missing image may be fetched from */
  peers?: () => Promise<readonly PeerSource[]> | readonly PeerSource[];
  now?: () => number;
  random?: () => number;
  backoff?: BackoffConfig;
  channelOptions?: grpc.ChannelOptions;
}

export interface WorkerHandle {
  readonly agent: Agent;
  readonly executor: Executor;
  /** Ends the session and the agent's timers; containers keep running. */
  stop(): Promise<void>;
}

export function workerStateDir(dataDir: string): string {
  return join(dataDir, 'worker');
}

function makeExecutor(o: WorkerOptions): Executor {
  if (o.executor !== undefined && o.executor !== 'engine' && o.executor !== 'sim') return o.executor;
  if (o.executor === 'sim') return new SimulatedExecutor({ hostname: o.hostname ?? o.nodeId });
  if (!o.engine) throw new Error('startWorker: an engine is required for the engine executor');
  return new EngineExecutor({
    engine: o.engine,
    log: o.log,
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    ...(o.engineLabels ? { engineLabels: o.engineLabels } : {}),
    ...(o.peers ? { peers: o.peers } : {}),
  });
}

/** Starts the agent (it connects in the background, with backoff) and returns its handle. */
export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  if (o.managers.length === 0) throw new Error('startWorker: managers: at least one manager address is required');
  const executor = makeExecutor(o);
  const agent = new Agent({
    managers: o.managers,
    credentials: o.credentials,
    nodeId: o.nodeId,
    description: await executor.describe(),
    executor,
    stateDir: workerStateDir(o.dataDir),
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
    log: o.log,
    ...(o.addr ? { addr: o.addr } : {}),
    ...(o.backoff ? { backoff: o.backoff } : {}),
    ...(o.channelOptions ? { channelOptions: o.channelOptions } : {}),
  });
  await agent.start();
  let stopped: Promise<void> | undefined;
  return {
    agent,
    executor,
    stop: () => (stopped ??= agent.stop()),
  };
}
