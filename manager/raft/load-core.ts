// The core as the driver sees it: the RaftCore shape (the part of RawNode it uses) and the
// conf-change decoder, bundled so tests can substitute either.
import { decodeConfChange } from './core/conf-change-codec.js';
import { RawNode } from './core/raw-node.js';
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

export interface CoreModule {
  createCore: CoreFactory;
  /** Decodes conf-change entry data (the core's own encoding). */
  decodeConfChange(b: Uint8Array): ConfChangeV2;
}

/** The real core: RawNode and its conf-change decoder. */
export function coreModule(): CoreModule {
  return { createCore: (c) => new RawNode(c), decodeConfChange };
}

/** As coreModule(); kept async for callers written when the core was loaded at run time. */
export async function loadCore(): Promise<CoreModule> {
  return coreModule();
}
