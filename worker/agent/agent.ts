/**
 * The worker agent: one session with the leader's dispatcher at a time. Picks a manager by weighted
 * random choice, opens a session, heartbeats at the period the manager gives, follows a follower's
 * redirect to the leader, reconnects with capped, jittered exponential backoff to any known manager,
 * applies assignments through TaskRunners, reports status changes in batches, and keeps its task set in
 * `stateDir` so a restarted shoald resumes.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../manager/node/leader-loop.js';
import type { Config, NodeDescription, Secret, Task, TaskStatus } from '../../manager/store/index.js';
import { observeFailure, pickWeighted, type WeightedManager } from '../../manager/dispatcher/manager-list.js';
import type { AssignmentsMessage, SessionMessage, StatusReport } from '../../manager/dispatcher/wire.js';
import type { Executor } from '../executor/index.js';
import { type BackoffConfig, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import { DispatcherClient, leaderAddrOf } from './dispatcher-client.js';
import { type PersistedTask, loadTasks, saveTasks } from './task-file.js';
import { TaskRunner } from './task-runner.js';
import { LogPublisher } from './log-publisher.js';
import type { SubscriptionMessage } from '../../manager/dispatcher/logs.js';
import { type NetworkView, applyNetworkPatch } from '../../manager/dispatcher/network-view.js';

export interface AgentOptions {
  managers: string[];
  credentials: grpc.ChannelCredentials;
  nodeId: string;
  description: NodeDescription;
  executor: Executor;
  stateDir: string;
  now: () => number;
  random: () => number;
  log: Logger;
  /** the address other nodes reach this one at (default: what the manager sees) */
  addr?: string;
  backoff?: BackoffConfig;
  /** deadline of each unary call (default 10 s) */
  callDeadlineMs?: number;
  /** how long status changes are gathered before one report (default 50 ms) */
  statusBatchMs?: number;
  channelOptions?: grpc.ChannelOptions;
}

type AgentState = 'stopped' | 'connecting' | 'connected';

interface Conn {
  client: DispatcherClient;
  sessionId?: string;
  streams: grpc.ClientReadableStream<unknown>[];
  heartbeatTimer?: ReturnType<typeof setTimeout>;
  closed: boolean;
  done: (err: unknown) => void;
}

export class Agent {
  private state: AgentState = 'stopped';
  private managers: WeightedManager[];
  private readonly runners = new Map<string, TaskRunner>();
  private readonly pending = new Map<string, StatusReport>();
  private conn: Conn | undefined;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private statusTimer: ReturnType<typeof setTimeout> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private saveQueued = false;
  private reporting = false;
  /** log subscriptions being served, by ID (they end with their session) */
  private readonly publishers = new Map<string, LogPublisher>();
  /** secrets and configs the dispatcher sent, in memory only (the executor reads them at prepare) */
  private readonly secrets = new Map<string, Secret>();
  private readonly configs = new Map<string, Config>();
  /** the network views as the dispatcher last sent them (patches apply to these) */
  private readonly views = new Map<string, NetworkView>();
  /** counters for tests and metrics */
  readonly stats = { sessions: 0, heartbeats: 0, reports: 0, refused: 0, redirects: 0 };

  constructor(private readonly o: AgentOptions) {
    if (o.managers.length === 0) throw new Error('managers: at least one manager address is required');
    this.managers = o.managers.map((addr) => ({ addr, weight: 1 }));
    o.executor.setDependencies?.({ secret: (id) => this.secrets.get(id), config: (id) => this.configs.get(id) });
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  get tasks(): Map<string, TaskRunner> {
    return this.runners;
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    for (const p of await loadTasks(this.o.stateDir)) {
      const r = this.newRunner(p.task, p.status);
      this.runners.set(p.task.ID, r);
      this.pending.set(p.task.ID, { taskId: p.task.ID, status: p.status });
      r.kick();
    }
    this.state = 'connecting';
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.closeConn(new Error('agent stopped'));
    this.wake?.();
    await this.loopDone;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    await this.saving;
  }

  // ---- connection loop --------------------------------------------------------------------------

  private async loop(): Promise<void> {
    let attempt = 0;
    let next: string | undefined;
    while (this.state !== 'stopped') {
      const addr = next ?? pickWeighted(this.managers, this.o.random())!.addr;
      next = undefined;
      const started = this.o.now();
      let err: unknown;
      try {
        await this.runSession(addr);
      } catch (e) {
        err = e;
      }
      if ((this.state as AgentState) === 'stopped') break;
      const leader = leaderAddrOf(err);
      if (leader && leader !== addr) {
        this.stats.redirects++;
        next = leader;
        if (!this.managers.some((m) => m.addr === leader)) this.managers.push({ addr: leader, weight: 1 });
        continue;
      }
      // a manager that names itself the leader is about to start leading: ask it again after the
      // backoff; any other failure makes this manager less likely to be picked next
      if (leader === addr) next = addr;
      else if (err !== undefined) this.managers = observeFailure(this.managers, addr);
      // a session that lasted a while resets the backoff
      attempt = this.o.now() - started > 10 * (this.o.backoff ?? DEFAULT_BACKOFF).maxMs ? 0 : attempt + 1;
      const delay = backoffDelay(attempt, this.o.random(), this.o.backoff);
      this.o.log.debug({ node: this.o.nodeId, manager: addr, err: (err as Error)?.message, delay }, 'session ended; reconnecting');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One session; resolves/rejects when it ends. */
  private runSession(addr: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const client = new DispatcherClient(addr, this.o.credentials, this.o.channelOptions);
      const conn: Conn = {
        client,
        streams: [],
        closed: false,
        done: (err) => {
          if (conn.closed) return;
          conn.closed = true;
          if (conn.heartbeatTimer) clearTimeout(conn.heartbeatTimer);
          for (const s of conn.streams) s.cancel();
          for (const p of [...this.publishers.values()]) p.stop();
          client.close();
          if (this.conn === conn) {
            this.conn = undefined;
            if (this.state === 'connected') this.state = 'connecting';
          }
          if (err) reject(err);
          else resolve();
        },
      };
      this.conn = conn;
      const deadline = this.o.callDeadlineMs ?? 10_000;
      const firstTimer = setTimeout(() => conn.done(new Error(`no session from ${addr} within ${deadline} ms`)), deadline);
      const session = client.session({ description: this.o.description, addr: this.o.addr });
      conn.streams.push(session);
      session.on('data', (m: SessionMessage) => {
        if (conn.closed) return;
        if (m.managers?.length) this.managers = m.managers;
        if (typeof m.nodeAddr === 'string' && m.nodeAddr) this.o.executor.setNodeAddress?.(m.nodeAddr);
        if (!conn.sessionId) {
          clearTimeout(firstTimer);
          conn.sessionId = m.sessionId;
          this.state = 'connected';
          this.stats.sessions++;
          this.scheduleHeartbeat(conn, m.heartbeatPeriodMs);
          this.openAssignments(conn);
          this.openSubscriptions(conn);
          this.scheduleReport(0);
        }
      });
      session.on('error', (e) => {
        clearTimeout(firstTimer);
        conn.done(e);
      });
      session.on('end', () => {
        clearTimeout(firstTimer);
        conn.done(new Error('session ended by the manager'));
      });
    });
  }

  private closeConn(err: unknown): void {
    this.conn?.done(err);
  }

  private scheduleHeartbeat(conn: Conn, periodMs: number): void {
    conn.heartbeatTimer = setTimeout(() => {
      if (conn.closed || !conn.sessionId) return;
      conn.client.heartbeat(conn.sessionId, Math.max(periodMs, this.o.callDeadlineMs ?? 10_000)).then(
        (r) => {
          this.stats.heartbeats++;
          this.scheduleHeartbeat(conn, r.periodMs);
        },
        (e: unknown) => conn.done(e),
      );
    }, periodMs);
  }

  private openAssignments(conn: Conn): void {
    const s = conn.client.assignments(conn.sessionId!);
    conn.streams.push(s);
    s.on('data', (m: AssignmentsMessage) => {
      if (!conn.closed) this.apply(m);
    });
    s.on('error', (e) => conn.done(e));
    s.on('end', () => conn.done(new Error('assignments ended by the manager')));
  }

  // ---- log subscriptions ----------------------------------------------------------------------------

  private openSubscriptions(conn: Conn): void {
    const s = conn.client.listenSubscriptions(conn.sessionId!);
    conn.streams.push(s);
    s.on('data', (m: SubscriptionMessage) => {
      if (!conn.closed) this.onSubscription(conn, m);
    });
    // a manager without log support, or a broken stream: logs stop, the session goes on
    s.on('error', (e: Error & { code?: number }) => {
      if (!conn.closed) this.o.log.debug({ node: this.o.nodeId, err: e.message }, 'log subscription stream ended');
    });
  }

  private onSubscription(conn: Conn, m: SubscriptionMessage): void {
    if (!m || typeof m.id !== 'string') return;
    const existing = this.publishers.get(m.id);
    if (m.close) {
      existing?.stop();
      return;
    }
    if (existing || !this.o.executor.logs) return;
    const executor = this.o.executor;
    const p = new LogPublisher(
      m,
      (task, o) => executor.logs!(task, o),
      (req) => conn.client.publishLogs({ sessionId: conn.sessionId!, ...req }, this.o.callDeadlineMs ?? 10_000),
      () => {
        if (this.publishers.get(m.id) === p) this.publishers.delete(m.id);
      },
    );
    this.publishers.set(m.id, p);
    p.start([...this.runners.values()].map((r) => r.task));
  }

  // ---- assignments --------------------------------------------------------------------------------

  private newRunner(task: Task, status: TaskStatus): TaskRunner {
    return new TaskRunner(task, status, this.o.executor, (t, st) => this.onStatus(t, st), this.o.now);
  }

  private apply(m: AssignmentsMessage): void {
    const seen = new Set<string>();
    const nets = new Set<string>();
    if (m.type === 'complete') {
      this.secrets.clear();
      this.configs.clear();
      this.views.clear();
    }
    for (const c of m.changes) {
      if (c.kind === 'secret' || c.kind === 'config') {
        const map: Map<string, Secret | Config> = c.kind === 'secret' ? this.secrets : this.configs;
        if (c.action === 'remove') map.delete(c.id);
        else if (c.kind === 'secret') this.secrets.set(c.secret.ID, c.secret);
        else this.configs.set(c.config.ID, c.config);
        continue;
      }
      if (c.kind === 'network') {
        if (c.action === 'remove') {
          this.views.delete(c.id);
          void this.o.executor.removeNetwork?.(c.id).catch(() => undefined);
          continue;
        }
        const cur = c.action === 'update' ? c.network : this.views.get(c.id);
        if (!cur) continue; // a patch of a view this agent does not hold: the next complete set brings it
        const view = c.action === 'patch' ? applyNetworkPatch(cur, c.patch) : cur;
        this.views.set(view.network.id, view);
        nets.add(view.network.id);
        void this.o.executor.applyNetwork?.(view).catch(() => undefined); // logged by the executor
        continue;
      }
      if (c.kind !== 'task') continue;
      if (c.action === 'remove') {
        this.removeTask(c.id);
        continue;
      }
      const t = c.task;
      seen.add(t.ID);
      const r = this.runners.get(t.ID);
      if (r) r.update(t);
      else {
        const runner = this.newRunner(t, t.Status);
        this.runners.set(t.ID, runner);
        runner.kick();
      }
    }
    if (m.type === 'complete') {
      for (const id of [...this.runners.keys()]) if (!seen.has(id)) this.removeTask(id);
      // leftovers of tasks this node no longer has (e.g. removed while shoald was down)
      const pruned = this.o.executor.prune?.(new Set(this.runners.keys())) ?? Promise.resolve([]);
      void pruned
        .then(() => this.o.executor.pruneNetworks?.(nets))
        .catch((e: unknown) => this.o.log.warn({ node: this.o.nodeId, err: (e as Error).message }, 'pruning what unassigned tasks left failed'));
    }
    this.queueSave();
  }

  private removeTask(id: string): void {
    const r = this.runners.get(id);
    if (!r) return;
    this.runners.delete(id);
    this.pending.delete(id);
    void r.remove();
    this.queueSave();
  }

  // ---- status reports ---------------------------------------------------------------------------

  private onStatus(task: Task, status: TaskStatus): void {
    if (this.runners.get(task.ID) === undefined) return;
    // a task that starts now joins the log subscriptions that follow its service
    if (status.State === 'running') for (const p of this.publishers.values()) p.offer(task);
    this.pending.set(task.ID, { taskId: task.ID, status });
    this.queueSave();
    this.scheduleReport(this.o.statusBatchMs ?? 50);
  }

  private scheduleReport(ms: number): void {
    if (this.statusTimer || this.state === 'stopped') return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = undefined;
      void this.report();
    }, ms);
  }

  private async report(): Promise<void> {
    const conn = this.conn;
    if (this.reporting || !conn?.sessionId || conn.closed || this.pending.size === 0) return;
    this.reporting = true;
    const batch = [...this.pending.values()];
    this.pending.clear();
    try {
      const r = await conn.client.updateTaskStatus(conn.sessionId, batch, this.o.callDeadlineMs ?? 10_000);
      this.stats.reports += batch.length;
      this.stats.refused += r.refused.length;
      for (const x of r.refused) this.o.log.warn({ node: this.o.nodeId, task: x.taskId, reason: x.message }, 'status report refused');
    } catch (e) {
      // keep what was not superseded meanwhile; it goes again with the next batch or session
      for (const b of batch) if (!this.pending.has(b.taskId) && this.runners.has(b.taskId)) this.pending.set(b.taskId, b);
      this.o.log.debug({ node: this.o.nodeId, err: (e as Error).message }, 'status report failed');
    } finally {
      this.reporting = false;
    }
    if (this.pending.size) this.scheduleReport(this.o.statusBatchMs ?? 50);
  }

  // ---- persistence --------------------------------------------------------------------------------

  private queueSave(): void {
    if (this.saveQueued) return;
    this.saveQueued = true;
    this.saving = this.saving.then(async () => {
      this.saveQueued = false;
      const list: PersistedTask[] = [...this.runners.values()].map((r) => ({ task: r.task, status: r.status }));
      try {
        await saveTasks(this.o.stateDir, list);
      } catch (e) {
        this.o.log.error({ node: this.o.nodeId, err: (e as Error).message }, 'saving the task set failed');
      }
    });
  }
}
