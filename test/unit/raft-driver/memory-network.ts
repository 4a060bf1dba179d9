// An in-memory Transport for driver tests: messages are delivered asynchronously (setImmediate) to
// the peer's handler; nodes can be isolated (both directions) and healed.
import type { Message, NodeId } from '../../../manager/raft/core/types.js';
import type { Transport, TransportHandler } from '../../../manager/raft/transport/transport.js';

export class MemoryNetwork {
  readonly endpoints = new Map<NodeId, MemoryTransport>();
  private readonly isolated = new Set<NodeId>();
  delivered = 0;

  transport(id: NodeId): MemoryTransport {
    const t = new MemoryTransport(id, this);
    return t;
  }

  isolate(id: NodeId): void { this.isolated.add(id); }
  heal(id: NodeId): void { this.isolated.delete(id); }

  /** Called by a transport to deliver; drops across an isolation or to a stopped endpoint. */
  deliver(m: Message): boolean {
    if (this.isolated.has(m.from) || this.isolated.has(m.to)) return false;
    const dst = this.endpoints.get(m.to);
    if (dst === undefined) return false;
    setImmediate(() => dst.inbound(m));
    this.delivered++;
    return true;
  }

  /**
   * Tells every other endpoint that `id`'s streams broke (the peer stopped) — after the messages it
   * already sent, as on a TCP stream, where the data arrives before the close.
   */
  broken(id: NodeId): void {
    for (const [other, t] of this.endpoints) if (other !== id) setImmediate(() => t.peerBroken(id));
  }
}

export class MemoryTransport implements Transport {
  private handler: TransportHandler | undefined;
  private readonly peers = new Map<NodeId, string>();
  constructor(readonly id: NodeId, private readonly net: MemoryNetwork) {}

  async start(handler: TransportHandler): Promise<void> {
    this.handler = handler;
    this.net.endpoints.set(this.id, this);
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const ok = this.peers.has(m.to) && this.net.deliver(m);
      if (m.type === 14) this.handler?.reportSnapshot(m.to, ok ? 'finish' : 'failure');
      else if (!ok) this.handler?.reportUnreachable(m.to);
    }
  }

  addPeer(id: NodeId, address: string): void { this.peers.set(id, address); }
  removePeer(id: NodeId): void { this.peers.delete(id); }
  hasPeer(id: NodeId): boolean { return this.peers.has(id); }

  async stop(): Promise<void> {
    if (this.net.endpoints.get(this.id) === this) {
      this.net.endpoints.delete(this.id);
      this.net.broken(this.id);
    }
    this.handler = undefined;
  }

  inbound(m: Message): void { this.handler?.receive(m); }
  peerBroken(id: NodeId): void { this.handler?.peerStreamBroken(id); }
}
