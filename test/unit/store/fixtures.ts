// Object builders and a fake Raft log shared by the store tests.
import type { Node, Service, Task, TaskState } from '../../../manager/store/objects.js';
import { ReplicatedStore, type Proposer } from '../../../manager/store/replicated-store.js';

export const T0 = '2026-01-01T00:00:00.000Z';

type New<T> = Omit<T, 'Meta'>;

export function service(id: string, name: string, labels?: Record<string, string>): New<Service> {
  return {
    ID: id,
    Spec: {
      Name: name,
      ...(labels ? { Labels: labels } : {}),
      TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: 'net1' }] },
      Mode: { Replicated: { Replicas: 1 } },
    },
  };
}

export function task(id: string, serviceId: string, slot: number, nodeId = '', desired: TaskState = 'running'): New<Task> {
  return {
    ID: id,
    ServiceID: serviceId,
    Slot: slot,
    NodeID: nodeId,
    Spec: { ContainerSpec: { Image: 'busybox' } },
    DesiredState: desired,
    Status: { Timestamp: T0, State: 'new', Message: 'created' },
    ServiceAnnotations: { Name: 'svc' },
  };
}

export function node(id: string, hostname: string, role: 'manager' | 'worker' = 'worker'): New<Node> {
  return {
    ID: id,
    Spec: { Role: role, Availability: 'active', Labels: { zone: 'a' } },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
      Engine: { EngineVersion: '0.1.0' },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    Certificate: { Status: 'issued', Certificate: '' },
    Role: role,
  };
}

/**
 * One Raft log shared by several stores: proposals from any store are appended in arrival order and
 * applied to every store, in order, when `deliver()` runs (or at once with `auto`).
 */
export class FakeLog {
  readonly entries: Uint8Array[] = [];
  readonly stores: ReplicatedStore[] = [];
  private delivered = 0;
  private readonly resolvers: ((r: { index: number }) => void)[] = [];
  leaderCount = 0;

  proposer(leader = () => true): Proposer {
    return {
      isLeader: leader,
      propose: (data) =>
        new Promise((resolve) => {
          this.entries.push(data);
          this.resolvers.push(resolve);
        }),
    };
  }

  addStore(origin: string, leader?: () => boolean): ReplicatedStore {
    const s = new ReplicatedStore({ proposer: this.proposer(leader), origin, now: () => T0 });
    this.stores.push(s);
    return s;
  }

  /** Applies every entry not yet applied, on every store, then lets the proposers resolve. */
  deliver(): void {
    while (this.delivered < this.entries.length) {
      const index = this.delivered + 1;
      for (const s of this.stores) s.applyCommitted(this.entries[this.delivered]!, index);
      this.resolvers[this.delivered]!({ index });
      this.delivered++;
    }
  }
}

/** Lets pending promise callbacks run. */
export function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
