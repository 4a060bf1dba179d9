/**
 * The manager role of one node: Raft on disk (<dir>/raft) with the gRPC transport, the replicated
 * store, and one gRPC server on the listen address carrying Raft, the CA, Raft membership, the
 * dispatcher and control forwarding — mutual TLS for all but the CA's join calls. The leader-only loops
 * (dispatcher, allocator, scheduler, orchestrator, updater, reaper, role manager, manager status) run
 * while this node leads and stop when it does not. A new cluster's first leader writes the Cluster and
 * its own Node; a joining manager asks the leader to add it to Raft.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { channelOptions, rotatingServerCredentials, type CertificateSource } from '../ca/index.js';
import { controlForwardService, FORWARD_PATH, injectControl, parseForwardResponse, type ForwardRequest, type ForwardResponse } from './control-forward.js';
import { buildControlApp } from '../controlapi/control-app.js';
import { SecretKeyring } from '../controlapi/secret-keyring.js';
import { configRoutes, secretRoutes } from '../controlapi/secret-routes.js';
import { Dispatcher, dispatcherService } from '../dispatcher/index.js';
import { managerLogBroker } from '../dispatcher/remote-log-broker.js';
import { serviceLoops } from '../orchestrator/index.js';
import { DiskStorage } from '../raft/disk-storage.js';
import { coreModule } from '../raft/load-core.js';
import { RaftNode, type StateMachine } from '../raft/raft-node.js';
import { GrpcTransport } from '../raft/transport/grpc-transport.js';
import { ReplicatedStore, type Cluster, type Node } from '../store/index.js';
import { AutolockWatcher, type KekHolder } from './autolock-watcher.js';
import { authorize, guardService } from './caller.js';
import { caService } from './ca-service.js';
import { grpcCode, grpcMessage, leaderAddrOf, RpcError, unary } from './grpc-json.js';
import { LeaderForwarder, NO_LEADER_MESSAGE } from './leader-forwarder.js';
import { logSourceOf } from './log-source.js';
import type { LeaderLoop, Logger } from './leader-loop.js';
import { managerRegistry } from './manager-metrics.js';
import { ManagerStatusLoop } from './manager-status-loop.js';
import { JOIN_PATH, MEMBERS_PATH, membershipService, type JoinResponse } from './membership-service.js';
import type { RaftView } from './raft-view.js';
import { ReachabilityTracker } from './reachability.js';
import { RoleManager } from './role-manager.js';
import { rotatingChannelCredentials } from './rotating-channel.js';
import { unlockKeyVault, type UnlockKeyVault } from './unlock-key-vault.js';

export interface ManagerTiming {
  /** Raft tick (default 100 ms), election and heartbeat in ticks (10 and 1: Docker's ElectionTick/HeartbeatTick) */
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** how often the leader refreshes ManagerStatus (default 1 s) */
  statusPeriodMs: number;
  /** overrides the Cluster spec's dispatcher heartbeat period (tests) */
  dispatcherHeartbeatMs?: number;
  /** pending Raft proposals fail after this (default 10 s) */
  requestTimeoutMs?: number;
}

export const DEFAULT_MANAGER_TIMING: ManagerTiming = { tickMs: 100, electionTicks: 10, heartbeatTicks: 1, statusPeriodMs: 1000 };

export type ManagerMode =
  /** `unlockKey`: autolock is on from the start (sealed into the cluster object at bootstrap) */
  | { kind: 'new'; cluster: Omit<Cluster, 'Meta'>; node: Omit<Node, 'Meta'>; unlockKey?: Buffer }
  | { kind: 'join'; remotes: string[] }
  /** `remotes`: managers to ask for Raft membership if the log turns out empty (a crash mid-join) */
  | { kind: 'restart'; remotes: string[] };

export interface ManagerOptions {
  nodeId: string;
  clusterId: string;
  raftId: number;
  /** <data-root>/swarm: Raft goes in raft/ */
  dir: string;
  listenAddr: string;
  advertiseAddr: string;
  certs: CertificateSource;
  mode: ManagerMode;
  timing?: Partial<ManagerTiming>;
  log: Logger;
  /** more control API plugins over this manager's store (SERVICES' secrets, configs, logs) */
  controlPlugins?: (store: ReplicatedStore) => FastifyPluginAsync[];
  /** ignored: each Manager has its own registry (`metrics`), so a later promotion registers afresh */
  registry?: Registry;
  /** told when Raft stops itself after a storage failure */
  onFatal?: (e: Error) => void;
  /** autolock: the node's key file, kept encrypted under the cluster's unlock key while autolock is on */
  keys?: KekHolder;
  /** autolock: told when the key file went from clear to encrypted */
  onLocked?: () => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ManagerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ManagerError';
  }
}

export class Manager {
  readonly store: ReplicatedStore;
  private readonly timing: ManagerTiming;
  private readonly server: grpc.Server;
  private readonly credentials: grpc.ChannelCredentials;
  private readonly forwarder: LeaderForwarder;
  private readonly reach: ReachabilityTracker;
  private readonly dispatcher: Dispatcher;
  /** this manager's access to the secrets key (wrapped for its TLS key in the Cluster object) */
  private readonly keyring: SecretKeyring;
  /** the autolock unlock key, sealed with the secrets key in the cluster object */
  private readonly vault: UnlockKeyVault;
  private autolock: AutolockWatcher | undefined;
  private readonly loops: LeaderLoop[];
  /** Raft's metrics and the manager's (store objects, tasks by state, sessions, leadership) */
  readonly metrics: Registry;
  private raftNode: RaftNode | undefined;
  private transport: GrpcTransport | undefined;
  private app: FastifyInstance | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private leading = false;
  private transition: Promise<void> | undefined;
  private stopped = false;
  private boundPort = 0;

  constructor(private readonly o: ManagerOptions) {
    this.timing = { ...DEFAULT_MANAGER_TIMING, ...o.timing };
    this.store = new ReplicatedStore({
      proposer: {
        isLeader: () => this.raftNode?.isLeader ?? false,
        propose: (data) => {
          if (!this.raftNode) return Promise.reject(new ManagerError('raft is not running'));
          return this.raftNode.propose(data).then((r) => ({ index: r.index }));
        },
      },
      origin: o.nodeId,
      now: () => new Date().toISOString(),
    });
    this.server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
    this.credentials = rotatingChannelCredentials(o.certs, { clusterId: o.clusterId });
    this.forwarder = new LeaderForwarder({ isLeader: () => this.isLeader, leaderAddr: () => this.leaderAddr() }, this.credentials);
    const electionMs = this.timing.tickMs * this.timing.electionTicks;
    this.reach = new ReachabilityTracker(Math.max(2 * electionMs, 1000));
    this.keyring = new SecretKeyring({ nodeId: o.nodeId, privateKey: () => o.certs.current().identity.keyPem, store: this.store });
    this.vault = unlockKeyVault(this.keyring);
    this.dispatcher = new Dispatcher({
      ...(this.timing.dispatcherHeartbeatMs ? { heartbeatPeriodMs: this.timing.dispatcherHeartbeatMs } : {}),
      leaderAddr: () => this.leaderAddr(),
      revealSecret: (s) => this.keyring.reveal(s),
    });
    this.metrics = managerRegistry({ store: this.store, sessions: () => this.dispatcher.sessionCount, isLeader: () => this.isLeader });
    const view = this.raftView();
    this.loops = [this.dispatcher, ...serviceLoops(), this.keyring.loop(), new RoleManager(view), new ManagerStatusLoop(view, undefined, this.timing.statusPeriodMs)];
  }

  get raft(): RaftNode {
    if (!this.raftNode) throw new ManagerError('raft is not running');
    return this.raftNode;
  }

  get isLeader(): boolean {
    return this.raftNode?.isLeader ?? false;
  }

  /** The port the gRPC server is bound to. */
  get port(): number {
    return this.boundPort;
  }

  /** The control app (routes for GET /swarm, /nodes, /services…) over this manager's store. */
  get controlApp(): FastifyInstance | undefined {
    return this.app;
  }

  /** The leader's gRPC address, if one is known. */
  leaderAddr(): string | undefined {
    const r = this.raftNode;
    if (!r || r.leaderId === 0) return undefined;
    if (r.leaderId === this.o.raftId) return this.o.advertiseAddr;
    return r.memberAddress(r.leaderId);
  }

  isRemoved(nodeId: string): boolean {
    return this.store.view((tx) => tx.find('clusters')[0]?.BlacklistedCertificates?.[nodeId] !== undefined);
  }

  /** Voters with whether the leader hears from them (all unknown-but-reachable on a follower). */
  voters(): { id: number; reachable: boolean }[] {
    const r = this.raftNode;
    if (!r) return [];
    const now = Date.now();
    return r.status().core.config.voters.map((id) => ({ id, reachable: id === this.o.raftId || !r.isLeader || this.reach.reachable(id, now) }));
  }

  /**
   * Raft messages only from managers this cluster still has: a node this store knows as a worker, or
   * whose recorded Raft ID is no longer a member (removed, or an old manager after --force-new-cluster),
   * is refused, so it cannot disturb the cluster with an old term or log. Unknown nodes pass (a joining
   * manager's store is still empty when the leader first sends to it).
   */
  private raftPeerRefusal(nodeId: string): string | undefined {
    const n = this.store.view((tx) => tx.get('nodes', nodeId));
    if (!n) return undefined;
    if (n.Role !== 'manager' && n.Spec.Role !== 'manager') return `node ${nodeId} is not a manager of this swarm`;
    const id = n.ManagerStatus?.RaftID;
    const r = this.raftNode;
    if (id !== undefined && r && !r.status().members.some((m) => m.id === id)) return `raft member ${id} (node ${nodeId}) was removed from the raft cluster`;
    return undefined;
  }

  private raftView(): RaftView {
    return {
      selfId: this.o.raftId,
      isLeader: () => this.isLeader,
      status: () => this.raft.status(),
      voters: () => this.voters(),
      removeMember: (id) => this.raft.removeMember(id),
      transferLeadership: (to) => this.raft.transferLeadership(to),
    };
  }

  /**
   * Starts Raft and the server. A new or joining manager resolves when its store holds the cluster
   * (bootstrapped or replicated) and a leader is known; a restarted one at once (its state is on disk).
   */
  async start(opts: { readyTimeoutMs?: number } = {}): Promise<void> {
    const o = this.o;
    const storage = await DiskStorage.open(join(o.dir, 'raft'));
    let mode = o.mode;
    // a manager that crashed before receiving anything from the cluster joins again
    if (mode.kind === 'restart' && storage.isNew()) mode = { kind: 'join', remotes: mode.remotes };
    const sm: StateMachine = {
      apply: (data, index) => this.store.applyCommitted(data, index),
      snapshot: () => this.store.snapshot(),
      restore: (data) => this.store.restore(data),
    };
    const transport = new GrpcTransport({
      id: o.raftId,
      listen: o.listenAddr,
      server: this.server,
      channelCredentials: this.credentials,
      channelOptions: channelOptions(),
      authorize: (call) => {
        try {
          const c = authorize(call, { roles: ['manager'], clusterId: o.clusterId, isRemoved: (id) => this.isRemoved(id) });
          return this.raftPeerRefusal(c.nodeId);
        } catch (e) {
          return (e as Error).message;
        }
      },
    });
    this.transport = transport;
    this.raftNode = await RaftNode.start({
      id: o.raftId,
      storage,
      transport,
      stateMachine: sm,
      core: coreModule(),
      ...(mode.kind === 'join' ? { join: true } : { initialMembers: new Map([[o.raftId, o.advertiseAddr]]) }),
      tickMs: this.timing.tickMs,
      electionTicks: this.timing.electionTicks,
      heartbeatTicks: this.timing.heartbeatTicks,
      ...(this.timing.requestTimeoutMs ? { requestTimeoutMs: this.timing.requestTimeoutMs } : {}),
      registry: this.metrics,
      onFatal: (e) => {
        o.log.error({ err: e.message }, 'raft stopped itself');
        o.onFatal?.(e);
      },
    });
    // task logs: the local dispatcher while leading, else the leader's SubscribeLogs (a follower serves log streams itself)
    const logs = logSourceOf(managerLogBroker({ dispatcher: this.dispatcher, leaderAddr: () => this.leaderAddr(), credentials: this.credentials }));
    this.app = await buildControlApp({
      store: this.store,
      voters: () => this.voters(),
      logs,
      plugins: [secretRoutes({ store: this.store, keyring: this.keyring }), configRoutes({ store: this.store }), ...(o.controlPlugins?.(this.store) ?? [])],
      log: o.log,
      unlockKeys: this.vault,
    });
    if (o.keys) {
      this.autolock = new AutolockWatcher({ store: this.store, vault: this.vault, keys: o.keys, log: o.log, ...(o.onLocked ? { onLocked: o.onLocked } : {}) });
      this.autolock.start();
    }
    this.addServices();
    await this.bind();
    this.watchTimer = setInterval(() => this.watchLeadership(), Math.max(10, Math.min(this.timing.tickMs, 100)));
    if (this.o.mode.kind === 'restart') {
      // the state is on disk: serve at once, whether or not a quorum is up. A manager that crashed
      // before receiving anything asks for membership again in the background.
      if (mode.kind === 'join') {
        const remotes = mode.remotes;
        void this.joinRaft(remotes, 3_600_000).catch((e: unknown) => o.log.error({ err: (e as Error).message }, 'could not rejoin the raft cluster'));
      }
      return;
    }
    if (mode.kind === 'join') await this.joinRaft(mode.remotes, opts.readyTimeoutMs ?? 120_000);
    await this.waitReady(mode, opts.readyTimeoutMs ?? 120_000);
  }

  private addServices(): void {
    const o = this.o;
    const isRemoved = (id: string): boolean => this.isRemoved(id);
    const d = dispatcherService(this.dispatcher);
    this.server.addService(d.definition, guardService(d.implementation, d.definition, () => ({ roles: ['worker', 'manager'], clusterId: o.clusterId, isRemoved })));
    const ca = caService({
      clusterId: o.clusterId, store: this.store, certs: o.certs, forwarder: this.forwarder, now: () => new Date(), isRemoved,
      openRootKey: (c) => this.store.view((tx) => this.vault.openRootKey(tx, c)),
      openJoinTokens: (c) => this.store.view((tx) => this.vault.joinTokensOf(tx, c)),
    });
    this.server.addService(ca.definition, ca.implementation);
    const m = membershipService({ clusterId: o.clusterId, raft: () => this.raft, store: this.store, forwarder: this.forwarder, isRemoved, log: o.log });
    this.server.addService(m.definition, m.implementation);
    const c = controlForwardService({ clusterId: o.clusterId, forwarder: this.forwarder, isRemoved, app: () => this.app });
    this.server.addService(c.definition, c.implementation);
  }

  private bind(): Promise<void> {
    const creds = rotatingServerCredentials(this.o.certs, { requireClientCertificate: false });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ManagerError(`binding ${this.o.listenAddr} timed out`)), 10_000);
      this.server.bindAsync(this.o.listenAddr, creds, (err, port) => {
        clearTimeout(timer);
        if (err) reject(new ManagerError(`cannot listen on ${this.o.listenAddr}: ${err.message}`, { cause: err }));
        else {
          this.boundPort = port;
          resolve();
        }
      });
    });
  }

  /** Asks the leader (through any known manager) to add this manager to Raft. */
  private async joinRaft(remotes: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const req = { raftId: this.o.raftId, addr: this.o.advertiseAddr };
    let targets = remotes.filter((a) => a !== this.o.advertiseAddr);
    let last: unknown;
    for (let attempt = 0; Date.now() < deadline && !this.stopped; attempt++) {
      const known = this.store.view((tx) => tx.find('nodes')).map((n) => n.ManagerStatus?.Addr).filter((a): a is string => !!a && a !== this.o.advertiseAddr);
      const list = [...new Set([...targets, ...known])];
      for (const addr of list) {
        try {
          // learn the members first: the leader streams the log to us before we have it
          const known = await unary<JoinResponse>(this.forwarder.client(addr), MEMBERS_PATH, {}, 10_000);
          for (const m of Array.isArray(known?.members) ? known.members : []) {
            if (Number.isSafeInteger(m?.raftId) && typeof m?.addr === 'string' && m.raftId !== this.o.raftId) this.transport?.addPeer(m.raftId, m.addr);
          }
          const r = await unary<JoinResponse>(this.forwarder.client(addr), JOIN_PATH, req, Math.min(120_000, Math.max(1000, deadline - Date.now())));
          this.o.log.info({ via: addr, members: r.members?.length }, 'joined the raft cluster');
          return;
        } catch (e) {
          last = e;
          const leader = leaderAddrOf(e);
          if (leader && !targets.includes(leader)) targets = [leader, ...targets];
          if (grpcCode(e) === grpc.status.PERMISSION_DENIED || grpcCode(e) === grpc.status.INVALID_ARGUMENT) {
            throw new ManagerError(`joining raft through ${addr} was refused: ${grpcMessage(e)}`, { cause: e });
          }
        }
      }
      await sleep(Math.min(2000, 200 * (attempt + 1)));
    }
    throw new ManagerError(`could not join the raft cluster: ${last ? grpcMessage(last) : 'no manager reachable'}`);
  }

  /** Resolves once this manager leads with its leader loops running (a single voter: at once). */
  async waitLeading(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.leading && this.isLeader)) {
      if (this.stopped) throw new ManagerError('manager stopped');
      if (Date.now() > deadline) throw new ManagerError(`this manager did not become the leader within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  private async waitReady(mode: ManagerMode, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopped) throw new ManagerError('manager stopped');
      const hasCluster = this.store.view((tx) => tx.count('clusters') > 0);
      const selfWritten = mode.kind !== 'new' || this.store.view((tx) => tx.get('nodes', this.o.nodeId) !== undefined);
      if (hasCluster && selfWritten && this.raft.leaderId !== 0) return;
      if (Date.now() > deadline) throw new ManagerError(hasCluster ? NO_LEADER_MESSAGE : 'timed out waiting for the cluster state to arrive');
      await sleep(20);
    }
  }

  // ---- leadership -------------------------------------------------------------------------------

  private watchLeadership(): void {
    const r = this.raftNode;
    if (!r || this.stopped) return;
    if (r.isLeader) this.reach.observe(Date.now(), r.status().core.progress);
    if (this.transition) return;
    const want = r.isLeader;
    if (want === this.leading) return;
    this.transition = (want ? this.becomeLeader() : this.becomeFollower()).catch((e: unknown) => {
      this.o.log.warn({ err: (e as Error).message }, 'leadership transition failed; will retry');
    }).finally(() => {
      this.transition = undefined;
    });
  }

  private async becomeLeader(): Promise<void> {
    const r = this.raft;
    this.o.log.info({ raftId: this.o.raftId, term: r.status().term }, 'raft leadership acquired');
    this.reach.reset(r.status().core.config.voters, Date.now());
    // everything committed before this term is applied here before any loop reads the store
    await r.linearizableRead();
    if (!r.isLeader || this.stopped) return;
    await this.bootstrapCluster();
    const ctx = { store: this.store, now: Date.now, random: Math.random, log: this.o.log, nodeId: this.o.nodeId };
    for (const l of this.loops) await l.start(ctx);
    this.leading = true;
    this.o.log.info({ raftId: this.o.raftId, term: r.status().term }, 'became the leader: leader loops started');
  }

  private async becomeFollower(): Promise<void> {
    this.leading = false;
    for (const l of this.loops) await l.stop().catch((e: unknown) => this.o.log.warn({ loop: l.name, err: (e as Error).message }, 'loop stop failed'));
    this.o.log.info({ leader: this.raftNode?.leaderId }, 'lost leadership: leader loops stopped');
  }

  /** A new cluster's first leader writes the Cluster object and its own Node. */
  private async bootstrapCluster(): Promise<void> {
    const mode = this.o.mode;
    if (mode.kind !== 'new') return;
    const has = this.store.view((tx) => ({ cluster: tx.count('clusters') > 0, node: tx.get('nodes', this.o.nodeId) !== undefined }));
    if (has.cluster && has.node) return;
    await this.store.update((tx) => {
      if (tx.count('clusters') === 0) {
        tx.create('clusters', mode.cluster);
        if (mode.unlockKey && mode.cluster.Spec.EncryptionConfig.AutoLockManagers) {
          // `swarm init --autolock`: the unlock key sealed with the secrets key (created here)
          const sealed = this.vault.seal(tx, mode.unlockKey);
          const c = tx.get('clusters', mode.cluster.ID)!;
          tx.update('clusters', { ...c, SealedUnlockKey: sealed });
          // and the root CA key and join tokens: the Raft log of a swarm autolocked from init never holds them in clear
          tx.update('clusters', this.vault.sealClusterKeys(tx, tx.get('clusters', mode.cluster.ID)!));
        }
      }
      if (!tx.get('nodes', mode.node.ID)) tx.create('nodes', mode.node);
    });
  }

  // ---- control forwarding (the engine gateway on a follower) -----------------------------------

  /** Sends a control REST request to the leader (or runs it here when this manager leads). */
  async forwardControl(r: ForwardRequest): Promise<ForwardResponse> {
    if (this.isLeader && this.app) return injectControl(this.app, r);
    const addr = this.leaderAddr();
    if (!addr) throw new RpcError(grpc.status.UNAVAILABLE, `rpc error: code = Unknown desc = ${NO_LEADER_MESSAGE}`);
    try {
      return parseForwardResponse(await unary(this.forwarder.client(addr), FORWARD_PATH, r, 60_000));
    } catch (e) {
      const code = grpcCode(e);
      if (code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED) {
        throw new RpcError(grpc.status.UNAVAILABLE, `rpc error: code = Unknown desc = ${NO_LEADER_MESSAGE}`);
      }
      throw new RpcError(grpc.status.INTERNAL, grpcMessage(e));
    }
  }

  /**
   * A leader that stops on purpose hands leadership to a reachable voter first (within 2 s), so the
   * others need not wait out an election timeout.
   */
  private async handOver(): Promise<void> {
    const r = this.raftNode;
    if (!r?.isLeader) return;
    const to = this.voters().find((v) => v.id !== this.o.raftId && v.reachable);
    if (!to) return;
    await Promise.race([r.transferLeadership(to.id).catch(() => undefined), sleep(2000)]);
  }

  /** Stops the loops, Raft and the server. The Raft log stays on disk (a restart resumes). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watchTimer);
    await this.transition?.catch(() => undefined);
    await this.handOver();
    if (this.leading) await this.becomeFollower();
    this.forwarder.close();
    await this.autolock?.stop().catch(() => undefined);
    await this.raftNode?.stop().catch(() => undefined);
    this.server.forceShutdown();
    await this.app?.close().catch(() => undefined);
    this.store.close();
  }
}

