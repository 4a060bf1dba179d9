// The sending side of one peer: a bounded queue of encoded messages, one long-lived client stream
// that carries them in batches (everything queued while a write is pending goes into the next
// frame), reconnection with backoff, and MsgSnap sent on its own streaming call in chunks.
import * as grpc from '@grpc/grpc-js';
import { encodeMessage } from '../codec.js';
import { MessageType, type Message, type NodeId } from '../core/types.js';
import type { SnapshotOutcome } from './transport.js';
import {
  deserializeSnapshotAck, deserializeStreamAck, MESSAGES_PATH, serializeBatch, serializeChunk, SNAPSHOT_PATH,
} from './transport-service.js';
import type { MessageBatch, SnapshotAck, SnapshotChunk } from './transport-wire.js';

export interface PeerSenderLimits {
  /** Messages queued per peer before new ones are dropped (and the peer reported unreachable). */
  queueLimit: number;
  /** Bytes of encoded messages per frame (a single larger message still goes alone). */
  maxBatchBytes: number;
  /** Snapshot chunk size. */
  chunkBytes: number;
  /** A frame whose write does not complete within this is treated as a broken stream. */
  writeTimeoutMs: number;
  /** Streams are replaced (gracefully) after this age; their deadline is a little later. */
  streamMaxAgeMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** Snapshot call deadline: base plus per MiB. */
  snapshotDeadlineBaseMs: number;
  snapshotDeadlinePerMiBMs: number;
}

export const DEFAULT_PEER_LIMITS: PeerSenderLimits = {
  queueLimit: 4096,
  maxBatchBytes: 8 << 20,
  chunkBytes: 1 << 20,
  writeTimeoutMs: 5000,
  streamMaxAgeMs: 60_000,
  backoffMinMs: 50,
  backoffMaxMs: 2000,
  snapshotDeadlineBaseMs: 10_000,
  snapshotDeadlinePerMiBMs: 1000,
};

export interface PeerSenderEvents {
  unreachable(id: NodeId): void;
  snapshot(id: NodeId, outcome: SnapshotOutcome): void;
}

export interface PeerSenderStats {
  framesSent: number;
  messagesSent: number;
  messagesDropped: number;
  streamsOpened: number;
  snapshotsSent: number;
}

export class PeerSender {
  readonly stats: PeerSenderStats = { framesSent: 0, messagesSent: 0, messagesDropped: 0, streamsOpened: 0, snapshotsSent: 0 };
  private readonly client: grpc.Client;
  private queue: Uint8Array[] = [];
  private stream: grpc.ClientWritableStream<MessageBatch> | undefined;
  private streamOpenedAt = 0;
  private writing = false;
  private writeTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private snapshots: Message[] = [];
  private snapshotInFlight = false;
  private closed = false;

  constructor(
    readonly selfId: NodeId,
    readonly peerId: NodeId,
    readonly address: string,
    credentials: grpc.ChannelCredentials,
    channelOptions: grpc.ChannelOptions,
    private readonly limits: PeerSenderLimits,
    private readonly events: PeerSenderEvents,
  ) {
    this.client = new grpc.Client(address, credentials, channelOptions);
  }

  /** Queues one message; call flush() after queueing a batch. */
  enqueue(m: Message): void {
    if (this.closed) return;
    if (m.type === MessageType.Snap) {
      if (this.snapshots.length >= 2) { this.events.snapshot(this.peerId, 'failure'); return; }
      this.snapshots.push(m);
      this.pumpSnapshots();
      return;
    }
    if (this.backoffTimer !== undefined || this.queue.length >= this.limits.queueLimit) {
      this.stats.messagesDropped++;
      this.events.unreachable(this.peerId);
      return;
    }
    this.queue.push(encodeMessage(m));
  }

  flush(): void {
    if (this.closed || this.writing || this.backoffTimer !== undefined || this.queue.length === 0) return;
    const stream = this.ensureStream();
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.length <= this.limits.maxBatchBytes)) {
      bytes += this.queue[n]!.length;
      n++;
    }
    const messages = n === this.queue.length ? this.queue : this.queue.slice(0, n);
    this.queue = n === this.queue.length ? [] : this.queue.slice(n);
    this.writing = true;
    this.writeTimer = setTimeout(() => this.broken(stream, 'write timed out'), this.limits.writeTimeoutMs);
    stream.write({ from: this.selfId, messages }, () => {
      if (this.stream !== stream) return;
      clearTimeout(this.writeTimer);
      this.writing = false;
      this.backoffMs = 0;
      this.stats.framesSent++;
      this.stats.messagesSent += messages.length;
      this.flush();
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.writeTimer);
    clearTimeout(this.backoffTimer);
    const s = this.stream;
    this.stream = undefined;
    if (s !== undefined) s.cancel();
    this.client.close();
    for (const _ of this.snapshots) this.events.snapshot(this.peerId, 'failure');
    this.snapshots = [];
  }

  private ensureStream(): grpc.ClientWritableStream<MessageBatch> {
    const now = Date.now();
    if (this.stream !== undefined && now - this.streamOpenedAt > this.limits.streamMaxAgeMs) {
      const old = this.stream;
      this.stream = undefined;
      old.end(); // graceful: the receiver does not treat it as a broken stream
    }
    if (this.stream !== undefined) return this.stream;
    const deadline = new Date(now + this.limits.streamMaxAgeMs * 2 + 10_000);
    const stream: grpc.ClientWritableStream<MessageBatch> = this.client.makeClientStreamRequest(
      MESSAGES_PATH, serializeBatch, deserializeStreamAck, new grpc.Metadata(), { deadline },
      (err) => { if (err !== null) this.broken(stream, err.message); else if (this.stream === stream) this.stream = undefined; },
    );
    stream.on('error', () => { /* reported through the callback */ });
    // grpc-js accepts writes before the connection exists: a channel that is not READY within the
    // write timeout, or that leaves READY later, means a broken stream.
    const channel = this.client.getChannel();
    const watch = (): void => {
      if (this.stream !== stream) return;
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) {
        channel.watchConnectivityState(state, Infinity, () => {
          if (this.stream === stream && channel.getConnectivityState(false) !== grpc.connectivityState.READY) this.broken(stream, 'connection lost');
        });
        return;
      }
      this.broken(stream, 'not connected');
    };
    const connectTimer = setTimeout(watch, this.limits.writeTimeoutMs);
    if (channel.getConnectivityState(false) === grpc.connectivityState.READY) { clearTimeout(connectTimer); watch(); }
    else {
      channel.watchConnectivityState(channel.getConnectivityState(true), Date.now() + this.limits.writeTimeoutMs, () => {
        if (channel.getConnectivityState(false) === grpc.connectivityState.READY) { clearTimeout(connectTimer); watch(); }
      });
    }
    this.stream = stream;
    this.streamOpenedAt = now;
    this.stats.streamsOpened++;
    return stream;
  }

  private broken(stream: grpc.ClientWritableStream<MessageBatch>, _why: string): void {
    if (this.stream !== stream || this.closed) return;
    this.stream = undefined;
    stream.cancel();
    clearTimeout(this.writeTimer);
    this.writing = false;
    this.stats.messagesDropped += this.queue.length;
    this.queue = [];
    this.events.unreachable(this.peerId); // whatever was in flight on this stream may be lost
    this.backoffMs = this.backoffMs === 0 ? this.limits.backoffMinMs : Math.min(this.backoffMs * 2, this.limits.backoffMaxMs);
    this.backoffTimer = setTimeout(() => { this.backoffTimer = undefined; this.flush(); }, this.backoffMs);
  }

  private pumpSnapshots(): void {
    if (this.snapshotInFlight || this.closed) return;
    const m = this.snapshots.shift();
    if (m === undefined) return;
    this.snapshotInFlight = true;
    const data = encodeMessage(m);
    const mib = data.length / (1 << 20);
    const deadline = new Date(Date.now() + this.limits.snapshotDeadlineBaseMs + mib * this.limits.snapshotDeadlinePerMiBMs);
    let done = false;
    const finish = (outcome: SnapshotOutcome): void => {
      if (done) return;
      done = true;
      this.snapshotInFlight = false;
      if (outcome === 'finish') this.stats.snapshotsSent++;
      this.events.snapshot(this.peerId, outcome);
      this.pumpSnapshots();
    };
    const call: grpc.ClientWritableStream<SnapshotChunk> = this.client.makeClientStreamRequest(
      SNAPSHOT_PATH, serializeChunk, deserializeSnapshotAck, new grpc.Metadata(), { deadline },
      (err: grpc.ServiceError | null, ack?: SnapshotAck) => finish(err === null && ack?.ok === true ? 'finish' : 'failure'),
    );
    call.on('error', () => { /* reported through the callback */ });
    let off = 0;
    const writeMore = (): void => {
      while (off < data.length) {
        const end = Math.min(off + this.limits.chunkBytes, data.length);
        const ok = call.write({ from: this.selfId, totalBytes: data.length, data: data.subarray(off, end) });
        off = end;
        if (!ok) { call.once('drain', writeMore); return; }
      }
      call.end();
    };
    writeMore();
  }
}
