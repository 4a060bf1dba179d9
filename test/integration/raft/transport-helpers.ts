// Helpers for the transport tests: message factories and a recording TransportHandler.
import { GrpcTransport, type GrpcTransportOptions } from '../../../manager/raft/transport/grpc-transport.js';
import type { SnapshotOutcome, TransportHandler } from '../../../manager/raft/transport/transport.js';
import { MessageType, type Message, type NodeId } from '../../../manager/raft/core/types.js';

export function msg(from: NodeId, to: NodeId, fields: Partial<Message> = {}): Message {
  return {
    type: MessageType.Heartbeat, to, from, term: 1, logTerm: 0, index: 0, entries: [], commit: 0,
    reject: false, rejectHint: 0, context: new Uint8Array(0), ...fields,
  };
}

export class Recorder implements TransportHandler {
  readonly received: Message[] = [];
  readonly unreachable: NodeId[] = [];
  readonly snapshots: Array<{ id: NodeId; outcome: SnapshotOutcome }> = [];
  readonly broken: NodeId[] = [];
  private waiters: Array<() => void> = [];
  receive(m: Message): void { this.received.push(m); this.wake(); }
  reportUnreachable(id: NodeId): void { this.unreachable.push(id); this.wake(); }
  reportSnapshot(id: NodeId, outcome: SnapshotOutcome): void { this.snapshots.push({ id, outcome }); this.wake(); }
  peerStreamBroken(id: NodeId): void { this.broken.push(id); this.wake(); }
  /** Resolves when `cond` holds; rejects after `ms` (a bound on a hang, not a timing assertion). */
  async until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }
  private wake(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }
}

export async function startTransport(id: NodeId, extra: Partial<GrpcTransportOptions> = {}): Promise<{ t: GrpcTransport; rec: Recorder }> {
  const t = new GrpcTransport({ id, listen: '127.0.0.1:0', ...extra });
  const rec = new Recorder();
  await t.start(rec);
  return { t, rec };
}
