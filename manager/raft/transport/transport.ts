// What the Raft driver needs from a transport: send messages to peers by ID, learn about peers at
// run time, and report back what the core must hear (unreachable peers, snapshot outcomes, inbound
// messages). The gRPC transport and the in-memory test transport both implement it.
import type { Message, NodeId } from '../core/types.js';

export type SnapshotOutcome = 'finish' | 'failure';

export interface TransportHandler {
  /** An inbound message for this node, already decoded and checked. */
  receive(m: Message): void;
  /** A message to `id` was dropped (queue full, stream broken). */
  reportUnreachable(id: NodeId): void;
  /** A MsgSnap to `id` was delivered (finish) or not (failure). */
  reportSnapshot(id: NodeId, outcome: SnapshotOutcome): void;
  /** The inbound stream from `id` ended abnormally (the peer died or the connection broke). */
  peerStreamBroken(id: NodeId): void;
}

export interface Transport {
  /** Starts delivering inbound messages to `handler`. */
  start(handler: TransportHandler): Promise<void>;
  /** Queues messages for their `to` peers; never blocks; unknown peers are reported unreachable. */
  send(messages: readonly Message[]): void;
  addPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
  hasPeer(id: NodeId): boolean;
  stop(): Promise<void>;
}
