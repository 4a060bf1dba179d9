/**
 * The dispatcher, a leader-only loop: worker sessions, heartbeats, node state, assignments and task
 * status intake. Decisions are made by the pure parts (heartbeat-tracker, assignments, status-intake,
 * manager-list); this class owns the timers and the store writes. Writes are batched: node state
 * changes and status reports queued within `batchMs` go out in one store batch.
 */
import { randomBytes } from 'node:crypto';
import type { LeaderLoop, LeaderLoopContext } from '../node/leader-loop.js';
import type { Node, NodeDescription, NodeState, ReplicatedStore, Secret, Watcher } from '../store/index.js';
import { type AssignmentMessage, type AssignmentSet, completeMessage, computeAssignments, diffAssignments } from './assignments.js';
import { DispatchError } from './dispatch-error.js';
import { NetworkViewCache, taskNetworkIds } from './network-view.js';
import { LogHub } from './log-hub.js';
import {
  type LogBroker, type LogLine, type LogSelector, type LogStreamOptions, type PublishLogsRequest, type SubscriptionMessage, logTargets,
} from './logs.js';
import { DEFAULT_HEARTBEAT_PERIOD_MS, HeartbeatTracker } from './heartbeat-tracker.js';
import { managerList, type WeightedManager } from './manager-list.js';
import { type StatusReport, checkReport } from './status-intake.js';
import type { SessionMessage, UpdateTaskStatusResponse } from './wire.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface DispatcherOptions {
  /** overrides the Cluster spec's Dispatcher.HeartbeatPeriod (tests use 100–200 ms) */
  heartbeatPeriodMs?: number;
  /** how long writes are gathered before one store batch (default 20 ms) */
  batchMs?: number;
  /** where the leader is, for redirecting agents that reached a follower */
  leaderAddr?: () => string | undefined;
  timers?: Timers;
  /**
   * Turns a stored secret (data sealed, see manager/controlapi/secret-keyring.ts) into what a node
   * receives (Spec.Data). A secret it cannot open is left out of the message (and logged).
   */
  revealSecret?: (secret: Secret) => Secret;
}

/** Where the gRPC shell sends stream messages. */
export interface Sink<M> {
  send(msg: M): void;
  end(err?: DispatchError): void;
}

/** What the gRPC shell calls (identity already taken from the mTLS certificate). */
export interface DispatcherHandle {
  session(nodeId: string, req: { description?: NodeDescription; addr: string }, sink: Sink<SessionMessage>): string;
  closeSession(nodeId: string, sessionId: string): void;
  heartbeat(nodeId: string, sessionId: string): { periodMs: number };
  assignments(nodeId: string, sessionId: string, sink: Sink<AssignmentMessage>): () => void;
  updateTaskStatus(nodeId: string, sessionId: string, updates: StatusReport[]): Promise<UpdateTaskStatusResponse>;
  listenSubscriptions(nodeId: string, sessionId: string, sink: Sink<SubscriptionMessage>): () => void;
  publishLogs(nodeId: string, req: PublishLogsRequest): Promise<{ stop: boolean }>;
  subscribe(selector: LogSelector, options: LogStreamOptions, signal?: AbortSignal): AsyncIterable<LogLine>;
}

interface Session {
  id: string;
  nodeId: string;
  sink: Sink<SessionMessage>;
  assign?: { sink: Sink<AssignmentMessage>; sent: AssignmentSet };
  logs?: Sink<SubscriptionMessage>;
}

interface NodeWrite {
  state: NodeState;
  message: string;
  addr?: string;
  description?: NodeDescription;
}

interface PendingReports {
  nodeId: string;
  updates: StatusReport[];
  resolve: (r: UpdateTaskStatusResponse) => void;
  reject: (e: unknown) => void;
}

export class Dispatcher implements LeaderLoop, DispatcherHandle, LogBroker {
  readonly name = 'dispatcher';
  private ctx: LeaderLoopContext | undefined;
  private readonly timers: Timers;
  private tracker = new HeartbeatTracker({ periodMs: DEFAULT_HEARTBEAT_PERIOD_MS });
  private readonly sessions = new Map<string, Session>();
  private watcher: Watcher | undefined;
  private expiryTimer: unknown;
  private expiryAt: number | undefined;
  private flushTimer: unknown;
  private assignTimer: unknown;
  private readonly dirtyNodes = new Set<string>();
  private readonly dirtyNetworks = new Set<string>();
  private readonly nodeWrites = new Map<string, NodeWrite>();
  private reports: PendingReports[] = [];
  private flushing: Promise<void> | undefined;
  private managers: WeightedManager[] = [];
  private managersJson = '[]';
  private readonly logHub: LogHub;

  constructor(private readonly options: DispatcherOptions = {}) {
    this.timers = options.timers ?? realTimers;
    this.logHub = new LogHub({
      targets: (sel) => this.ctx?.store.view((tx) => logTargets(tx, sel)) ?? new Map(),
      send: (nodeId, msg) => {
        const sink = this.sessions.get(nodeId)?.logs;
        if (!sink) return false;
        sink.send(msg);
        return true;
      },
      timers: this.timers,
    });
  }

  get running(): boolean {
    return this.ctx !== undefined;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  get periodMs(): number {
    return this.tracker.periodMs;
  }

  // ---- leadership -------------------------------------------------------------------------------

  start(ctx: LeaderLoopContext): void {
    this.ctx = ctx;
    const { result: nodes, watcher } = ctx.store.viewAndWatch(
      (tx) => {
        this.tracker = new HeartbeatTracker({ periodMs: this.resolvePeriod(tx.find('clusters')[0]?.Spec.Dispatcher.HeartbeatPeriod) });
        return tx.find('nodes');
      },
      { tables: ['tasks', 'secrets', 'configs', 'nodes', 'clusters', 'services', 'networks'], queueLimit: 10_000_000 },
    );
    this.watcher = watcher;
    // grace after a leader change: no node is marked down before a full window has passed
    const now = ctx.now();
    this.tracker.grace(nodes.filter((n) => n.Status.State !== 'down').map((n) => n.ID), now);
    this.refreshManagers(nodes);
    this.armExpiry();
    void this.consume(watcher);
    ctx.log.info({ nodes: nodes.length, periodMs: this.tracker.periodMs }, 'dispatcher started');
  }

  async stop(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    this.ctx = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    for (const t of [this.expiryTimer, this.flushTimer, this.assignTimer]) if (t !== undefined) this.timers.clearTimeout(t);
    this.expiryTimer = this.flushTimer = this.assignTimer = undefined;
    this.expiryAt = undefined;
    const err = new DispatchError('not-leader', 'this manager is no longer the leader', this.options.leaderAddr?.());
    for (const s of this.sessions.values()) {
      s.assign?.sink.end(err);
      s.logs?.end(err);
      s.sink.end(err);
    }
    this.sessions.clear();
    this.logHub.closeAll(err);
    this.dirtyNodes.clear();
    this.dirtyNetworks.clear();
    this.nodeWrites.clear();
    for (const p of this.reports.splice(0)) p.reject(err);
    await this.flushing?.catch(() => undefined);
  }

  private resolvePeriod(specNs: number | undefined): number {
    if (this.options.heartbeatPeriodMs) return this.options.heartbeatPeriodMs;
    if (specNs && specNs > 0) return Math.max(1, Math.round(specNs / 1e6));
    return DEFAULT_HEARTBEAT_PERIOD_MS;
  }

  private requireRunning(): LeaderLoopContext {
    if (!this.ctx) {
      const leader = this.options.leaderAddr?.();
      throw new DispatchError('not-leader', `this manager is not the leader${leader ? `; the leader is ${leader}` : ''}`, leader);
    }
    return this.ctx;
  }

  private requireSession(nodeId: string, sessionId: string): Session {
    const s = this.sessions.get(nodeId);
    if (!s || s.id !== sessionId) throw new DispatchError('session-invalid', `session ${sessionId} of node ${nodeId} is not open (open a new session)`);
    return s;
  }

  // ---- sessions and heartbeats ------------------------------------------------------------------

  session(nodeId: string, req: { description?: NodeDescription; addr: string }, sink: Sink<SessionMessage>): string {
    const ctx = this.requireRunning();
    const node = ctx.store.view((tx) => tx.get('nodes', nodeId));
    const blacklisted = ctx.store.view((tx) => tx.find('clusters')[0]?.BlacklistedCertificates?.[nodeId]);
    if (!node || blacklisted) throw new DispatchError('permission-denied', `node ${nodeId} is not a member of this swarm`);
    const old = this.sessions.get(nodeId);
    if (old) {
      const replaced = new DispatchError('session-invalid', 'a newer session of this node replaced this one');
      old.assign?.sink.end(replaced);
      old.logs?.end(replaced);
      this.logHub.nodeGone(nodeId);
      old.sink.end(replaced);
    }
    const id = randomBytes(12).toString('hex');
    this.sessions.set(nodeId, { id, nodeId, sink });
    this.tracker.beat(nodeId, ctx.now(), ctx.random());
    this.armExpiry();
    this.queueNodeWrite(nodeId, { state: 'ready', message: '', addr: req.addr, description: req.description });
    sink.send({ sessionId: id, nodeId, managers: this.managers, heartbeatPeriodMs: this.tracker.periodMs, ...(req.addr ? { nodeAddr: req.addr } : {}) });
    return id;
  }

  closeSession(nodeId: string, sessionId: string): void {
    const s = this.sessions.get(nodeId);
    if (!s || s.id !== sessionId || !this.ctx) return;
    this.sessions.delete(nodeId);
    s.assign?.sink.end();
    s.logs?.end();
    this.logHub.nodeGone(nodeId);
    // heartbeats not lost yet: disconnected; the tracker still marks it down when its deadline passes
    this.queueNodeWrite(nodeId, { state: 'disconnected', message: 'session ended' });
  }

  heartbeat(nodeId: string, sessionId: string): { periodMs: number } {
    const ctx = this.requireRunning();
    this.requireSession(nodeId, sessionId);
    const periodMs = this.tracker.beat(nodeId, ctx.now(), ctx.random());
    // a beat only moves this node's deadline later: the armed timer (at the earliest deadline) stays
    // right unless this deadline falls before it, so the O(nodes) search is skipped on most beats
    const d = this.tracker.deadlineOf(nodeId);
    if (this.expiryAt === undefined || d === undefined || d < this.expiryAt) this.armExpiry();
    return { periodMs };
  }

  private armExpiry(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const next = this.tracker.nextDeadline();
    if (next === undefined) return;
    if (this.expiryAt !== undefined && this.expiryAt <= next) return;
    if (this.expiryTimer !== undefined) this.timers.clearTimeout(this.expiryTimer);
    this.expiryAt = next;
    this.expiryTimer = this.timers.setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryAt = undefined;
      this.onExpiry();
    }, Math.max(0, next - ctx.now()));
  }

  /** Marks the nodes whose heartbeat deadline passed as down and ends their sessions. */
  private onExpiry(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    for (const nodeId of this.tracker.expire(ctx.now())) {
      const s = this.sessions.get(nodeId);
      if (s) {
        this.sessions.delete(nodeId);
        const err = new DispatchError('session-invalid', 'heartbeat failure: the session was closed');
        s.assign?.sink.end(err);
        s.logs?.end(err);
        this.logHub.nodeGone(nodeId);
        s.sink.end(err);
      }
      ctx.log.info({ node: nodeId }, 'node missed its heartbeats: down');
      this.queueNodeWrite(nodeId, { state: 'down', message: 'heartbeat failure' });
    }
    this.armExpiry();
  }

  // ---- assignments ------------------------------------------------------------------------------

  assignments(nodeId: string, sessionId: string, sink: Sink<AssignmentMessage>): () => void {
    const ctx = this.requireRunning();
    const s = this.requireSession(nodeId, sessionId);
    s.assign?.sink.end(new DispatchError('session-invalid', 'a newer assignments stream replaced this one'));
    const set = ctx.store.view((tx) => computeAssignments(tx, nodeId));
    const a = { sink, sent: set };
    s.assign = a;
    sink.send(this.outgoing(completeMessage(set)));
    return () => {
      if (s.assign === a) s.assign = undefined;
    };
  }

  /** Secrets leave the manager with their data opened (over mTLS), never sealed nor stored so. */
  private outgoing(msg: AssignmentMessage): AssignmentMessage {
    const reveal = this.options.revealSecret;
    if (!reveal || !msg.changes.some((c) => c.kind === 'secret' && c.action === 'update')) return msg;
    const changes: AssignmentMessage['changes'] = [];
    for (const c of msg.changes) {
      if (c.action !== 'update' || c.kind !== 'secret') {
        changes.push(c);
        continue;
      }
      try {
        changes.push({ ...c, secret: reveal(c.secret) });
      } catch (e) {
        this.ctx?.log.error({ secret: c.secret.ID, err: (e as Error).message }, 'cannot open a secret for a node; left out');
      }
    }
    return { ...msg, changes };
  }

  private async consume(w: Watcher): Promise<void> {
    try {
      for await (const e of w) {
        if (e.kind !== 'change') continue;
        if (e.table === 'tasks') {
          this.markDirty(e.object.NodeID);
          if (e.oldObject) this.markDirty(e.oldObject.NodeID);
          if (this.logHub.size && e.action !== 'delete') this.logHub.taskChanged(e.object);
          // every node with a task on the same overlay sees this task as a peer / backend
          for (const id of taskNetworkIds(e.object)) this.markNetworkDirty(id);
          if (e.oldObject) for (const id of taskNetworkIds(e.oldObject)) this.markNetworkDirty(id);
        } else if (e.table === 'services') {
          for (const v of e.object.Endpoint?.VirtualIPs ?? []) this.markNetworkDirty(v.NetworkID);
          for (const v of e.oldObject?.Endpoint?.VirtualIPs ?? []) this.markNetworkDirty(v.NetworkID);
        } else if (e.table === 'networks') {
          this.markNetworkDirty(e.object.ID);
          // every node holds the ingress network, those with no overlay view yet included
          if (e.object.Spec.Ingress) for (const s of this.sessions.values()) this.markDirty(s.nodeId);
        } else if (e.table === 'secrets' || e.table === 'configs') {
          for (const s of this.sessions.values()) {
            const sent = s.assign?.sent;
            if (sent && (sent.secrets.has(e.object.ID) || sent.configs.has(e.object.ID))) this.markDirty(s.nodeId);
          }
        } else if (e.table === 'nodes') {
          // a node's underlay address is what its peers send VXLAN traffic to
          if (e.oldObject && e.oldObject.Status.Addr !== e.object.Status.Addr) this.markNetworkDirty('*');
          // a node's own address on the ingress network (allocator) is a peer of every node's routing mesh
          else if (JSON.stringify(e.oldObject?.Attachments) !== JSON.stringify(e.object.Attachments)) for (const a of [...(e.object.Attachments ?? []), ...(e.oldObject?.Attachments ?? [])]) this.markNetworkDirty(a.Network.ID);
          this.onNodeChange(e.object, e.action === 'delete');
        } else if (e.table === 'clusters' && e.action !== 'delete') {
          this.tracker.setPeriod(this.resolvePeriod(e.object.Spec.Dispatcher.HeartbeatPeriod));
        }
      }
    } catch (err) {
      if (this.ctx && this.watcher === w) {
        this.ctx.log.warn({ err: (err as Error).message }, 'dispatcher watch ended; restarting the dispatcher');
        const ctx = this.ctx;
        await this.stop();
        this.start(ctx);
      }
    }
  }

  private onNodeChange(node: Node, deleted: boolean): void {
    if (deleted) {
      const s = this.sessions.get(node.ID);
      this.tracker.forget(node.ID);
      if (s) {
        this.sessions.delete(node.ID);
        s.logs?.end();
        this.logHub.nodeGone(node.ID);
        const err = new DispatchError('permission-denied', `node ${node.ID} was removed from the swarm`);
        s.assign?.sink.end(err);
        s.sink.end(err);
      }
    }
    if (node.ManagerStatus || deleted) {
      const nodes = this.ctx?.store.view((tx) => tx.find('nodes')) ?? [];
      this.refreshManagers(nodes);
    }
  }

  private refreshManagers(nodes: readonly Node[]): void {
    const list = managerList(nodes, this.options.leaderAddr?.());
    const json = JSON.stringify(list);
    if (json === this.managersJson) return;
    this.managers = list;
    this.managersJson = json;
    for (const s of this.sessions.values()) {
      s.sink.send({ sessionId: s.id, nodeId: s.nodeId, managers: list, heartbeatPeriodMs: this.tracker.periodMs });
    }
  }

  private markDirty(nodeId: string): void {
    if (!nodeId || !this.sessions.get(nodeId)?.assign) return;
    this.dirtyNodes.add(nodeId);
    this.scheduleAssign();
  }

  /** The nodes that hold a view of network `id` ('*': every network) are recomputed in the next batch. */
  private markNetworkDirty(id: string): void {
    this.dirtyNetworks.add(id);
    this.scheduleAssign();
  }

  private scheduleAssign(): void {
    if (this.assignTimer === undefined) {
      this.assignTimer = this.timers.setTimeout(() => {
        this.assignTimer = undefined;
        this.sendIncrements();
      }, this.options.batchMs ?? 20);
    }
  }

  private sendIncrements(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    if (this.dirtyNetworks.size) {
      const all = this.dirtyNetworks.has('*');
      for (const s of this.sessions.values()) {
        const nets = s.assign?.sent.networks;
        if (!nets?.size) continue;
        if (all || [...nets.keys()].some((id) => this.dirtyNetworks.has(id))) this.dirtyNodes.add(s.nodeId);
      }
      this.dirtyNetworks.clear();
    }
    const dirty = [...this.dirtyNodes];
    this.dirtyNodes.clear();
    ctx.store.view((tx) => {
      const views = new NetworkViewCache(tx);
      for (const nodeId of dirty) {
        const a = this.sessions.get(nodeId)?.assign;
        if (!a) continue;
        const next = computeAssignments(tx, nodeId, views);
        const msg = diffAssignments(a.sent, next);
        a.sent = next;
        if (msg) a.sink.send(this.outgoing(msg));
      }
    });
  }

  // ---- logs ---------------------------------------------------------------------------------------

  listenSubscriptions(nodeId: string, sessionId: string, sink: Sink<SubscriptionMessage>): () => void {
    this.requireRunning();
    const s = this.requireSession(nodeId, sessionId);
    s.logs?.end(new DispatchError('session-invalid', 'a newer subscription stream replaced this one'));
    s.logs = sink;
    this.logHub.nodeListening(nodeId);
    return () => {
      if (s.logs === sink) {
        s.logs = undefined;
        this.logHub.nodeGone(nodeId);
      }
    };
  }

  publishLogs(nodeId: string, req: PublishLogsRequest): Promise<{ stop: boolean }> {
    try {
      this.requireRunning();
      this.requireSession(nodeId, req.sessionId);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.logHub.publish(nodeId, req);
  }

  /** LogBroker: the selected tasks' logs from the nodes that ran them (leader only). */
  subscribe(selector: LogSelector, options: LogStreamOptions, signal?: AbortSignal): AsyncIterable<LogLine> {
    this.requireRunning();
    return this.logHub.subscribe(selector, options, signal);
  }

  // ---- status intake and node state writes ------------------------------------------------------

  updateTaskStatus(nodeId: string, sessionId: string, updates: StatusReport[]): Promise<UpdateTaskStatusResponse> {
    try {
      this.requireRunning();
      this.requireSession(nodeId, sessionId);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!Array.isArray(updates)) return Promise.reject(new DispatchError('invalid', 'updates: must be an array'));
    return new Promise((resolve, reject) => {
      this.reports.push({ nodeId, updates, resolve, reject });
      this.scheduleFlush();
    });
  }

  private queueNodeWrite(nodeId: string, w: NodeWrite): void {
    const prev = this.nodeWrites.get(nodeId);
    this.nodeWrites.set(nodeId, { ...w, addr: w.addr ?? prev?.addr, description: w.description ?? prev?.description });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || !this.ctx) return;
    this.flushTimer = this.timers.setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.options.batchMs ?? 20);
  }

  /** One batch at a time; what arrives during a write waits for the next one. */
  private async flush(): Promise<void> {
    if (this.flushing) {
      await this.flushing.catch(() => undefined);
      if (this.reports.length || this.nodeWrites.size) this.scheduleFlush();
      return;
    }
    const ctx = this.ctx;
    if (!ctx) return;
    const reports = this.reports.splice(0);
    const writes = [...this.nodeWrites];
    this.nodeWrites.clear();
    this.flushing = this.write(ctx.store, reports, writes);
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  private async write(store: ReplicatedStore, reports: PendingReports[], writes: [string, NodeWrite][]): Promise<void> {
    const answers = reports.map(() => ({ refused: [] as { taskId: string; message: string }[] }));
    try {
      await store.batch(async (b) => {
        for (const [nodeId, w] of writes) {
          await b.update((tx) => {
            const n = tx.get('nodes', nodeId);
            if (!n) return;
            if (n.Status.State === w.state && (w.addr === undefined || n.Status.Addr === w.addr) && !w.description) return;
            tx.update('nodes', {
              ...n,
              Status: { State: w.state, Message: w.message, Addr: w.addr || n.Status.Addr },
              Description: w.description ?? n.Description,
            });
          });
        }
        for (let i = 0; i < reports.length; i++) {
          const p = reports[i]!;
          for (const r of p.updates) {
            await b.update((tx) => {
              const d = checkReport(tx.get('tasks', r?.taskId), p.nodeId, r);
              if (d.kind === 'refused') answers[i]!.refused.push({ taskId: String(r?.taskId), message: d.message });
              else if (d.kind === 'apply') tx.update('tasks', d.task);
            });
          }
        }
      });
    } catch (e) {
      this.ctx?.log.warn({ err: (e as Error).message }, 'dispatcher write failed');
      // node states are retried (they describe what is true now); status reports go back to the agent
      for (const [nodeId, w] of writes) if (!this.nodeWrites.has(nodeId)) this.nodeWrites.set(nodeId, w);
      for (const p of reports) p.reject(new DispatchError('unavailable', `status write failed: ${(e as Error).message}`));
      if (writes.length) this.scheduleFlush();
      return;
    }
    reports.forEach((p, i) => p.resolve(answers[i]!));
  }
}
