/**
 * Leader-only RPCs on any manager: run the handler on the leader; on a follower, send the same call to
 * the leader over mutual TLS with the original caller's identity in metadata and return its answer;
 * with no leader, UNAVAILABLE with Docker's "no leader" message.
 */
import * as grpc from '@grpc/grpc-js';
import { channelOptions } from '../ca/index.js';
import { forwardedMetadata, type Caller } from './caller.js';
import { RpcError, unary } from './grpc-json.js';

export const NO_LEADER_MESSAGE =
  "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";

export interface LeaderView {
  isLeader(): boolean;
  /** the leader's gRPC address, when one is known */
  leaderAddr(): string | undefined;
}

export class LeaderForwarder {
  private readonly clients = new Map<string, grpc.Client>();
  private closed = false;

  constructor(
    private readonly view: LeaderView,
    private readonly credentials: grpc.ChannelCredentials,
    private readonly deadlineMs = 30_000,
  ) {}

  /** A cached client of `addr` (the manager's own credentials). */
  client(addr: string): grpc.Client {
    let c = this.clients.get(addr);
    if (!c) {
      c = new grpc.Client(addr, this.credentials, channelOptions());
      this.clients.set(addr, c);
    }
    return c;
  }

  /**
   * `local()` on the leader; otherwise forwards `request` to `path` on the leader. `caller` is the
   * identity to forward (undefined for the token-authenticated CA calls).
   */
  async run<T>(path: string, request: unknown, caller: Caller | undefined, local: () => Promise<T>, deadlineMs = this.deadlineMs): Promise<T> {
    if (this.closed) throw new RpcError(grpc.status.UNAVAILABLE, 'this manager is stopping');
    if (this.view.isLeader()) return local();
    const addr = this.view.leaderAddr();
    if (addr === undefined) throw new RpcError(grpc.status.UNAVAILABLE, NO_LEADER_MESSAGE);
    return unary<T>(this.client(addr), path, request, deadlineMs, forwardedMetadata(caller));
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
