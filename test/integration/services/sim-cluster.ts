/**
 * A standalone store with the service loops running and simulated nodes acting as agents would: a
 * node's tasks go ASSIGNED → ACCEPTED → … → RUNNING when meant to run, are shut down when their desired
 * state passes running; tests can fail tasks, take nodes down, drain them, change labels.
 */
import { createStandaloneStore, defaultSwarmSpec, type Node, type ReplicatedStore, type Task } from '../../../manager/store/index.js';
import { serviceLoops, type Timers } from '../../../manager/orchestrator/index.js';
import type { LeaderLoop } from '../../../manager/node/leader-loop.js';
import { stateOrder } from '../../../manager/orchestrator/task-state.js';

/** Time that moves only when the test says so; the loops' delays fire from `advance`. */
export class ManualClock implements Timers {
  t = 1_700_000_000_000;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.t;
  setTimeout(fn: () => void, ms: number): unknown {
    const h = ++this.seq;
    this.pending.set(h, { at: this.t + ms, fn });
    return h;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [h, p] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (p.at <= this.t) {
        this.pending.delete(h);
        p.fn();
      }
    }
  }
}

const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

export class SimCluster {
  readonly store: ReplicatedStore;
  readonly loops: LeaderLoop[];
  private agentWatch: ReturnType<ReplicatedStore['watch']> | undefined;
  /** task IDs the agent must fail when they would start (per image name) */
  failImages = new Set<string>();
  /** images whose tasks finish (exit 0) right after they started */
  completeImages = new Set<string>();
  /** nodes whose agent is gone but that the store still calls ready (a dead host not yet noticed) */
  silentNodes = new Set<string>();
  private seed = 1;

  private readonly now: () => number;

  constructor(opts: { clock?: ManualClock } = {}) {
    this.now = opts.clock?.now ?? Date.now;
    this.store = createStandaloneStore({ now: () => new Date(this.now()).toISOString() });
    this.loops = serviceLoops(opts.clock ? { timers: opts.clock } : {});
  }

  random = (): number => {
    // a small deterministic PRNG (mulberry32)
    let t = (this.seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  async start(): Promise<void> {
    await this.store.update((tx) => {
      tx.create('clusters', {
        ID: 'cluster000000000000000001',
        Spec: defaultSwarmSpec(),
        JoinTokens: { Worker: '', Manager: '' },
        RootCACert: '',
        RootCADigest: '',
      });
    });
    for (const l of this.loops) await l.start({ store: this.store, now: this.now, random: this.random, log: silent, nodeId: 'manager' });
    this.agentWatch = this.store.watch({ tables: ['tasks', 'nodes'] });
    const w = this.agentWatch;
    void (async () => {
      try {
        for await (const _ of w) this.agentKick();
      } catch {
        /* closed */
      }
    })();
  }

  async stop(): Promise<void> {
    this.agentWatch?.close();
    for (const l of this.loops) await l.stop();
    this.store.close();
  }

  async addNode(id: string, opts: { hostname?: string; labels?: Record<string, string>; role?: 'manager' | 'worker' } = {}): Promise<void> {
    const node: Omit<Node, 'Meta'> = {
      ID: id,
      Spec: { Role: opts.role ?? 'worker', Availability: 'active', Labels: opts.labels ?? {} },
      Description: {
        Hostname: opts.hostname ?? id,
        Platform: { Architecture: 'x86_64', OS: 'linux' },
        Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 2 ** 30 },
        Engine: { EngineVersion: '28.2.2' },
      },
      Status: { State: 'ready', Addr: '127.0.0.1' },
      Certificate: { Role: opts.role ?? 'worker', Status: { State: 'issued' } } as unknown as Node['Certificate'],
      Role: opts.role ?? 'worker',
    };
    await this.store.update((tx) => tx.create('nodes', node));
  }

  async setNode(id: string, f: (n: Node) => Node): Promise<void> {
    await this.store.update((tx) => tx.update('nodes', f(tx.get('nodes', id)!)));
  }

  async nodeDown(id: string): Promise<void> {
    await this.setNode(id, (n) => ({ ...n, Status: { ...n.Status, State: 'down' } }));
  }

  async drain(id: string): Promise<void> {
    await this.setNode(id, (n) => ({ ...n, Spec: { ...n.Spec, Availability: 'drain' } }));
  }

  tasks(serviceId?: string): Task[] {
    return this.store.view((tx) => (serviceId ? tx.find('tasks', { index: 'service', key: serviceId }) : tx.find('tasks')));
  }

  private busy = false;
  private again = false;

  private agentKick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    setImmediate(() => {
      void this.agentPass().finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.agentKick();
        }
      });
    });
  }

  /** What every live node's agent does: start assigned tasks, stop those no longer meant to run. */
  private async agentPass(): Promise<void> {
    const now = new Date().toISOString();
    const changes = this.store.view((tx) => {
      const out: { id: string; state: Task['Status']['State']; msg: string; err?: string }[] = [];
      for (const t of tx.find('tasks')) {
        if (!t.NodeID) continue;
        const n = tx.get('nodes', t.NodeID);
        if (!n || n.Status.State !== 'ready' || this.silentNodes.has(n.ID)) continue;
        const s = t.Status.State;
        const meant = stateOrder(t.DesiredState) <= stateOrder('running');
        if (!meant && stateOrder(s) <= stateOrder('running')) out.push({ id: t.ID, state: 'shutdown', msg: 'shutdown' });
        else if (meant && s === 'running' && this.completeImages.has(t.Spec.ContainerSpec.Image)) out.push({ id: t.ID, state: 'complete', msg: 'finished' });
        else if (t.DesiredState === 'running' && s === 'assigned') {
          if (this.failImages.has(t.Spec.ContainerSpec.Image)) out.push({ id: t.ID, state: 'failed', msg: 'started', err: 'task: non-zero exit (1)' });
          else out.push({ id: t.ID, state: 'running', msg: 'started' });
        }
      }
      return out;
    });
    if (changes.length === 0) return;
    await this.store
      .batch(async (b) => {
        for (const c of changes) {
          await b.update((tx) => {
            const t = tx.get('tasks', c.id);
            if (!t || stateOrder(t.Status.State) >= stateOrder(c.state)) return;
            tx.update('tasks', {
              ...t,
              Status: { Timestamp: now, State: c.state, Message: c.msg, ...(c.err ? { Err: c.err } : {}), ContainerStatus: { ContainerID: t.ID, PID: 1, ...(c.state === 'failed' ? { ExitCode: 1 } : c.state === 'complete' ? { ExitCode: 0 } : {}) } },
            });
          });
        }
      })
      .catch(() => this.agentKick());
  }

  /** Resolves when `cond` holds (polled on every store change and every 20 ms); rejects after `ms`. */
  async until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
    const start = Date.now();
    while (!cond()) {
      if (Date.now() - start > ms) throw new Error(`timed out waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  running(serviceId: string): Task[] {
    return this.tasks(serviceId).filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
  }
}
