// Loads the core's RawNode class at run time. Indirect (like disk-storage.ts does for MemoryStorage)
// so the driver builds on its own; RaftNode only needs the RaftCore shape below.
import type { ConfChangeV2, ConfState, Message, NodeId, ProposeResult, RaftConfig, Ready, Status } from './core/types.js';

/** The part of the core's RawNode that the driver uses. */
export interface RaftCore {
  tick(): void;
  campaign(): void;
  propose(data: Uint8Array): ProposeResult;
  proposeConfChange(cc: ConfChangeV2): ProposeResult;
  applyConfChange(cc: ConfChangeV2): ConfState;
  step(m: Message): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(): void;
  transferLeader(id: NodeId): void;
  readIndexWithResult(ctx: Uint8Array): ProposeResult;
  forgetLeader(): void;
  status(): Status;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void;
}

export type CoreFactory = (config: RaftConfig) => RaftCore;

export class CoreLoadError extends Error {
  constructor(message: string) { super(message); this.name = 'CoreLoadError'; }
}

export interface CoreModule {
  createCore: CoreFactory;
  /** Decodes conf-change entry data (the core's own encoding). */
  decodeConfChange(b: Uint8Array): ConfChangeV2;
}

async function member(spec: string, name: string): Promise<unknown> {
  const mod: unknown = await import(spec);
  const v = typeof mod === 'object' && mod !== null ? (mod as Record<string, unknown>)[name] : undefined;
  if (typeof v !== 'function') throw new CoreLoadError(`manager/raft/core/${spec.slice(7)} does not export ${name}`);
  return v;
}

/** Resolves the core's RawNode constructor and conf-change decoder. */
export async function loadCore(): Promise<CoreModule> {
  const Ctor = (await member('./core/raw-node.js', 'RawNode')) as new (c: RaftConfig) => RaftCore;
  const decode = (await member('./core/conf-change-codec.js', 'decodeConfChange')) as (b: Uint8Array) => ConfChangeV2;
  return { createCore: (c) => new Ctor(c), decodeConfChange: decode };
}
