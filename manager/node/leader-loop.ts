/**
 * Leader-only loops: the Manager starts every registered loop when it gains Raft leadership and stops
 * them when it loses it. Loops take time and randomness from the context (pure cores, thin shells).
 */
import type { ReplicatedStore } from '../store/index.js';

/** The pino-like logger the loops write to. */
export interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export interface LeaderLoopContext {
  store: ReplicatedStore;
  now: () => number;
  random: () => number;
  log: Logger;
  nodeId: string;
}

export interface LeaderLoop {
  name: string;
  start(ctx: LeaderLoopContext): void | Promise<void>;
  stop(): Promise<void>;
}
