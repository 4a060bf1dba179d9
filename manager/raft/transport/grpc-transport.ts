// The gRPC transport between Raft peers: a server receiving message batches and chunked snapshots,
// and one PeerSender per known peer. Credentials are passed in (insecure by default, for tests).
import * as grpc from '@grpc/grpc-js';
import { decodeMessage } from '../codec.js';
import { isLocalMessage, MessageType, type Message, type NodeId } from '../core/types.js';
import { DEFAULT_PEER_LIMITS, PeerSender, type PeerSenderLimits, type PeerSenderStats } from './peer-sender.js';
import { raftTransportService } from './transport-service.js';
import type { Transport, TransportHandler } from './transport.js';
import type { MessageBatch, SnapshotAck, SnapshotChunk } from './transport-wire.js';

export interface GrpcTransportOptions {
  id: NodeId;
  /** host:port to listen on; port 0 picks a free one (see `port` after start). */
  listen: string;
  serverCredentials?: grpc.ServerCredentials;
  channelCredentials?: grpc.ChannelCredentials;
  /** Extra channel options (e.g. grpc.ssl_target_name_override for TLS tests). */
  channelOptions?: grpc.ChannelOptions;
  limits?: Partial<PeerSenderLimits>;
  /** Largest snapshot accepted (bytes). Default 1 GiB. */
  maxSnapshotBytes?: number;
  /** Deadline for binding the server. Default 5 s. */
  bindTimeoutMs?: number;
  /**
   * A server owned by the caller (one port for every node-to-node service): the transport only adds
   * its service to it; the caller binds it and shuts it down. `listen`/`serverCredentials` are unused.
   */
  server?: grpc.Server;
  /** Refuses an inbound call when it returns a reason (e.g. the caller's certificate is not a manager's). */
  authorize?: (call: grpc.ServerReadableStream<unknown, unknown>) => string | undefined;
}

export class TransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

export class GrpcTransport implements Transport {
  private readonly peers = new Map<NodeId, PeerSender>();
  private readonly limits: PeerSenderLimits;
  private readonly server: grpc.Server;
  private handler: TransportHandler | undefined;
  private boundPort = 0;
  private stopped = false;
  /** Inbound message counters, for tests and metrics. */
  readonly inbound = { frames: 0, messages: 0, snapshots: 0, rejected: 0 };

  constructor(private readonly opts: GrpcTransportOptions) {
    this.limits = { ...DEFAULT_PEER_LIMITS, ...opts.limits };
    this.server = opts.server ?? new grpc.Server({
      'grpc.max_receive_message_length': this.limits.maxBatchBytes + (4 << 20),
    });
  }

  get id(): NodeId { return this.opts.id; }

  /** The bound port (after start). */
  get port(): number { return this.boundPort; }

  async start(handler: TransportHandler): Promise<void> {
    this.handler = handler;
    this.server.addService(raftTransportService(), {
      Messages: (call: grpc.ServerReadableStream<MessageBatch, Record<string, never>>, cb: grpc.sendUnaryData<Record<string, never>>) =>
        this.onMessages(call, cb),
      Snapshot: (call: grpc.ServerReadableStream<SnapshotChunk, SnapshotAck>, cb: grpc.sendUnaryData<SnapshotAck>) =>
        this.onSnapshot(call, cb),
    });
    if (this.opts.server !== undefined) return;
    const creds = this.opts.serverCredentials ?? grpc.ServerCredentials.createInsecure();
    const timeoutMs = this.opts.bindTimeoutMs ?? 5000;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TransportError(`binding ${this.opts.listen} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.server.bindAsync(this.opts.listen, creds, (err, port) => {
        clearTimeout(timer);
        if (err !== null) reject(new TransportError(`cannot listen on ${this.opts.listen}: ${err.message}`, { cause: err }));
        else resolve(port);
      });
    });
  }

  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    const touched = new Set<PeerSender>();
    for (const m of messages) {
      if (isLocalMessage(m.type)) continue;
      const p = this.peers.get(m.to);
      if (p === undefined) {
        if (m.type === MessageType.Snap) this.handler?.reportSnapshot(m.to, 'failure');
        else this.handler?.reportUnreachable(m.to);
        continue;
      }
      p.enqueue(m);
      touched.add(p);
    }
    for (const p of touched) p.flush();
  }

  addPeer(id: NodeId, address: string): void {
    if (this.stopped || id === this.opts.id) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.address === address) return;
      existing.close();
    }
    const creds = this.opts.channelCredentials ?? grpc.credentials.createInsecure();
    // Raft streams are never retried by the channel (a broken stream is reported and reopened by the
    // sender), so the retry layer's per-message buffering is turned off.
    const channelOptions: grpc.ChannelOptions = { 'grpc.enable_retries': 0, ...this.opts.channelOptions };
    this.peers.set(id, new PeerSender(this.opts.id, id, address, creds, channelOptions, this.limits, {
      unreachable: (peer) => this.handler?.reportUnreachable(peer),
      snapshot: (peer, outcome) => this.handler?.reportSnapshot(peer, outcome),
    }));
  }

  removePeer(id: NodeId): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    this.peers.delete(id);
    p.close();
  }

  hasPeer(id: NodeId): boolean { return this.peers.has(id); }

  peerAddress(id: NodeId): string | undefined { return this.peers.get(id)?.address; }

  peerStats(id: NodeId): PeerSenderStats | undefined { return this.peers.get(id)?.stats; }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    if (this.opts.server === undefined) this.server.forceShutdown();
  }

  private deliver(m: Message): boolean {
    if (m.to !== this.opts.id || isLocalMessage(m.type)) { this.inbound.rejected++; return false; }
    this.inbound.messages++;
    this.handler?.receive(m);
    return true;
  }

  private refused(call: grpc.ServerReadableStream<unknown, unknown>): string | undefined {
    if (this.stopped) return 'transport stopped';
    return this.opts.authorize?.(call);
  }

  private onMessages(call: grpc.ServerReadableStream<MessageBatch, Record<string, never>>, cb: grpc.sendUnaryData<Record<string, never>>): void {
    const why = this.refused(call);
    if (why !== undefined) { this.inbound.rejected++; cb({ code: grpc.status.PERMISSION_DENIED, details: why }); return; }
    let from: NodeId = 0;
    let reported = false;
    // A client that cancels (or dies) may still produce 'end' first, so only 'cancelled'/'error' count.
    const brokenOnce = (): void => {
      if (reported) return;
      reported = true;
      if (from !== 0 && !this.stopped) this.handler?.peerStreamBroken(from);
    };
    call.on('data', (b: MessageBatch) => {
      if (b.from !== 0) from = b.from;
      this.inbound.frames++;
      for (const bytes of b.messages) {
        let m: Message;
        try { m = decodeMessage(bytes); } catch { this.inbound.rejected++; continue; }
        this.deliver(m);
      }
    });
    call.on('end', () => cb(null, {}));
    call.on('error', brokenOnce);
    call.on('cancelled', brokenOnce);
  }

  private onSnapshot(call: grpc.ServerReadableStream<SnapshotChunk, SnapshotAck>, cb: grpc.sendUnaryData<SnapshotAck>): void {
    const why = this.refused(call);
    if (why !== undefined) { this.inbound.rejected++; cb({ code: grpc.status.PERMISSION_DENIED, details: why }); return; }
    const max = this.opts.maxSnapshotBytes ?? (1 << 30);
    const parts: Uint8Array[] = [];
    let received = 0;
    let total = -1;
    let failed = '';
    call.on('data', (c: SnapshotChunk) => {
      if (failed !== '') return;
      if (total === -1) total = c.totalBytes;
      if (c.totalBytes !== total) failed = 'chunks disagree on total size';
      else if (total > max) failed = `snapshot of ${total} bytes exceeds the limit of ${max}`;
      else if (received + c.data.length > total) failed = 'more data than announced';
      else { parts.push(c.data); received += c.data.length; }
    });
    call.on('error', () => { failed = failed || 'stream broken'; });
    call.on('end', () => {
      if (failed === '' && received !== total) failed = `received ${received} of ${total} bytes`;
      if (failed !== '') { cb(null, { ok: false, error: failed }); return; }
      let m: Message;
      try { m = decodeMessage(Buffer.concat(parts)); } catch (e) {
        cb(null, { ok: false, error: e instanceof Error ? e.message : String(e) });
        return;
      }
      if (m.type !== MessageType.Snap || !this.deliver(m)) { cb(null, { ok: false, error: 'not a MsgSnap for this node' }); return; }
      this.inbound.snapshots++;
      cb(null, { ok: true, error: '' });
    });
  }
}
