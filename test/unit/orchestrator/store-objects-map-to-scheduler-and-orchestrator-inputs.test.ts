import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service, Task } from '../../../manager/store/index.js';
import { isUpToDate, modeKind, newTask, nodeInvalid } from '../../../manager/orchestrator/task-factory.js';
import { toPendingTask, toSchedNode } from '../../../manager/orchestrator/scheduler-loop.js';
import { nodeEligible } from '../../../manager/orchestrator/orchestrator-loop.js';

const meta = { Version: { Index: 7 }, CreatedAt: '2026-01-01T00:00:00Z', UpdatedAt: '2026-01-01T00:00:00Z' };
const svc = (over: Partial<Service['Spec']> = {}): Service => ({
  ID: 'svc',
  Meta: meta,
  Spec: { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'a:1' } }, Mode: { Replicated: { Replicas: 1 } }, ...over },
});
const node = (over: Partial<Node> = {}, spec: Partial<Node['Spec']> = {}): Node => ({
  ID: 'n1',
  Meta: meta,
  Spec: { Role: 'worker', Availability: 'active', Labels: { zone: 'a' }, ...spec },
  Description: { Hostname: 'h1', Platform: { Architecture: 'x86_64', OS: 'linux' }, Resources: { NanoCPUs: 2e9, MemoryBytes: 4e9 }, Engine: { EngineVersion: '28', Labels: { rack: 'r1' } } },
  Status: { State: 'ready', Addr: '10.0.0.5' },
  Certificate: {} as Node['Certificate'],
  Role: 'worker',
  ...over,
});

test('a new task copies the template, the service version, the slot and the job run', () => {
  const s = { ...svc({ Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } } }), JobStatus: { JobIteration: { Index: 3 } } };
  const t = newTask(s, 'tid', '2026-01-01T00:00:01Z', { slot: 2 });
  assert.equal(t.Spec, s.Spec.TaskTemplate);
  assert.deepEqual(t.SpecVersion, { Index: 7 });
  assert.equal(t.Slot, 2);
  assert.equal(t.NodeID, '');
  assert.equal(t.DesiredState, 'running');
  assert.deepEqual(t.Status, { Timestamp: '2026-01-01T00:00:01Z', State: 'new', Message: 'created' });
  assert.deepEqual(t.JobIteration, { Index: 3 });
  assert.deepEqual(t.ServiceAnnotations, { Name: 'web' });
});

test('a task is up to date when its spec equals the template (key order does not matter)', () => {
  const s = svc();
  const t = { Spec: { ContainerSpec: { Image: 'a:1' } } } as Task;
  assert.ok(isUpToDate(t, s));
  assert.ok(!isUpToDate({ Spec: { ContainerSpec: { Image: 'a:2' } } } as Task, s));
  assert.ok(!isUpToDate({ Spec: { ContainerSpec: { Image: 'a:1' }, ForceUpdate: 1 } } as Task, s));
});

test('mode kinds and invalid nodes (gone, down, drained; paused is still valid)', () => {
  assert.equal(modeKind(svc()), 'replicated');
  assert.equal(modeKind(svc({ Mode: { Global: {} } })), 'global');
  assert.equal(modeKind(svc({ Mode: { GlobalJob: {} } })), 'global-job');
  assert.ok(nodeInvalid(undefined));
  assert.ok(nodeInvalid(node({ Status: { State: 'down', Addr: '' } })));
  assert.ok(nodeInvalid(node({}, { Availability: 'drain' })));
  assert.ok(!nodeInvalid(node({}, { Availability: 'pause' })));
});

test('global eligibility: ready, active, constraints, platform OS', () => {
  assert.ok(nodeEligible(node(), svc()));
  assert.ok(!nodeEligible(node({}, { Availability: 'pause' }), svc()));
  assert.ok(nodeEligible(node(), svc({ TaskTemplate: { ContainerSpec: { Image: 'a' }, Placement: { Constraints: ['node.labels.zone==a', 'engine.labels.rack==r1'] } } })));
  assert.ok(!nodeEligible(node(), svc({ TaskTemplate: { ContainerSpec: { Image: 'a' }, Placement: { Constraints: ['node.role==manager'] } } })));
  assert.ok(!nodeEligible(node(), svc({ TaskTemplate: { ContainerSpec: { Image: 'a' }, Placement: { Platforms: [{ OS: 'windows' }] } } })));
});

test('store objects map to the scheduler\'s inputs', () => {
  assert.deepEqual(toSchedNode(node()), {
    id: 'n1', hostname: 'h1', role: 'worker', state: 'ready', availability: 'active', labels: { zone: 'a' }, engineLabels: { rack: 'r1' },
    addr: '10.0.0.5', platform: { os: 'linux', architecture: 'x86_64' }, resources: { nanoCPUs: 2e9, memoryBytes: 4e9 },
  });
  const t = {
    ID: 't1', ServiceID: 'svc', NodeID: '', SpecVersion: { Index: 9 },
    Spec: {
      ContainerSpec: { Image: 'a' },
      Resources: { Reservations: { NanoCPUs: 5e8 } },
      Placement: { Constraints: ['node.role==worker'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2, Platforms: [{ OS: 'linux', Architecture: 'amd64' }] },
    },
    Endpoint: { Spec: {}, Ports: [{ Protocol: 'udp', TargetPort: 53, PublishedPort: 5353, PublishMode: 'host' }, { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] },
  } as unknown as Task;
  assert.deepEqual(toPendingTask(t), {
    id: 't1', serviceId: 'svc', groupKey: 'svc/9', constraints: ['node.role==worker'], preferences: [{ spreadDescriptor: 'node.labels.zone' }],
    maxReplicasPerNode: 2, reservations: { nanoCPUs: 5e8, memoryBytes: 0 }, platforms: [{ os: 'linux', architecture: 'amd64' }],
    hostPorts: [{ protocol: 'udp', publishedPort: 5353 }],
  });
});
