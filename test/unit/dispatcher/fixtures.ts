// Fixtures for dispatcher/agent tests: nodes and tasks in the store's shapes, and a manual clock.
import type { Node, ReplicatedStore, Task, TaskState } from '../../../manager/store/index.js';
import { randomBytes } from 'node:crypto';
import { generateId } from '../../../manager/store/index.js';
import type { Timers } from '../../../manager/dispatcher/index.js';

export function nodeObject(id: string, state: Node['Status']['State'] = 'unknown'): Omit<Node, 'Meta'> {
  return {
    ID: id,
    Spec: { Role: 'worker', Availability: 'active', Labels: {} },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
      Engine: { EngineVersion: 'test' },
    },
    Status: { State: state, Addr: '' },
    Certificate: { Status: 'issued', Certificate: '' },
    Role: 'worker',
  };
}

export function taskObject(opts: {
  id?: string;
  nodeId: string;
  service?: string;
  slot?: number;
  image?: string;
  state?: TaskState;
  desired?: TaskState;
  secrets?: string[];
}): Omit<Task, 'Meta'> {
  const service = opts.service ?? 'web';
  return {
    ID: opts.id ?? generateId((n) => randomBytes(n)),
    ServiceID: `svc${service}`.padEnd(25, '0').slice(0, 25),
    Slot: opts.slot ?? 1,
    NodeID: opts.nodeId,
    Spec: {
      ContainerSpec: {
        Image: opts.image ?? 'busybox:latest',
        Secrets: (opts.secrets ?? []).map((s) => ({ SecretID: s, SecretName: s, File: { Name: s, UID: '0', GID: '0', Mode: 0o444 } })),
      },
    },
    SpecVersion: { Index: 1 },
    DesiredState: opts.desired ?? 'running',
    Status: { Timestamp: new Date(0).toISOString(), State: opts.state ?? 'assigned', Message: 'scheduler assigned task to node' },
    ServiceAnnotations: { Name: service },
  };
}

export async function addNodes(store: ReplicatedStore, ids: string[], state: Node['Status']['State'] = 'unknown'): Promise<void> {
  await store.batch(async (b) => {
    for (const id of ids) await b.update((tx) => tx.create('nodes', nodeObject(id, state)));
  });
}

/** Timers on a manual clock: advance() runs what falls due, in order. */
export class ManualClock implements Timers {
  t = 1_000_000;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  now = (): number => this.t;

  setTimeout(fn: () => void, ms: number): unknown {
    const h = ++this.seq;
    this.due.set(h, { at: this.t + ms, fn });
    return h;
  }

  clearTimeout(h: unknown): void {
    this.due.delete(h as number);
  }

  /** Moves time forward by `ms`, firing timers as their time comes; lets promises settle between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.due) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.due.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

export const quietLog = { info() {}, warn() {}, error() {}, debug() {} };
