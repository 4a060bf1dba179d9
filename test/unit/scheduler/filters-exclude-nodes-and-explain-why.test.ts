import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConstraint, schedule } from '../../../manager/scheduler/index.js';
import { node, perNode, tasks } from './fixtures.js';

test('drained, paused and down nodes get nothing', () => {
  const nodes = [node('a', { availability: 'drain' }), node('b', { state: 'down' }), node('c', { availability: 'pause' }), node('d')];
  const r = schedule({ nodes, placed: [], pending: tasks(3) });
  assert.deepEqual(perNode(r.assigned), { d: 3 });
});

test('a task that fits nowhere stays with Docker\'s explanation, counted per filter', () => {
  const nodes = [node('a', { state: 'down' }), node('b'), node('c')];
  const r = schedule({ nodes, placed: [], pending: tasks(2, { constraints: ['node.role==manager'] }) });
  assert.equal(r.assigned.length, 0);
  assert.deepEqual(r.unschedulable.map((u) => u.reason), [
    'no suitable node (1 node not available for new tasks; scheduling constraints not satisfied on 2 nodes)',
    'no suitable node (1 node not available for new tasks; scheduling constraints not satisfied on 2 nodes)',
  ]);
});

test('constraints on id, hostname, role, labels, engine labels, platform and ip', () => {
  const nodes = [
    node('aaaaaaaaaaaa0001', { role: 'manager', labels: { disk: 'ssd' }, addr: '10.1.0.5' }),
    node('bbbbbbbbbbbb0002', { engineLabels: { rack: 'r1' }, platform: { os: 'linux', architecture: 'aarch64' }, addr: '10.2.0.5' }),
  ];
  const where = (c: string[]): string[] =>
    schedule({ nodes, placed: [], pending: tasks(1, { constraints: c }) }).assigned.map((d) => d.nodeId);
  assert.deepEqual(where(['node.role==manager']), ['aaaaaaaaaaaa0001']);
  assert.deepEqual(where(['node.labels.disk==SSD']), ['aaaaaaaaaaaa0001'], 'values compare case-insensitively');
  assert.deepEqual(where(['node.labels.disk!=ssd']), ['bbbbbbbbbbbb0002'], 'a missing label satisfies !=');
  assert.deepEqual(where(['engine.labels.rack==r1']), ['bbbbbbbbbbbb0002']);
  assert.deepEqual(where(['node.hostname!=host-aaaaaaaaaaaa0001']), ['bbbbbbbbbbbb0002']);
  assert.deepEqual(where(['node.id==bbbbbbbbbbbb']), ['bbbbbbbbbbbb0002'], 'a 12-character ID prefix matches');
  assert.deepEqual(where(['node.platform.arch==arm64']), ['bbbbbbbbbbbb0002'], 'arm64 and aarch64 are one architecture');
  assert.deepEqual(where(['node.ip==10.1.0.0/16']), ['aaaaaaaaaaaa0001']);
  assert.deepEqual(where(['node.role==manager', 'node.labels.disk==hdd']), []);
});

test('resource reservations are subtracted as tasks land; the rest wait with "insufficient resources"', () => {
  const nodes = [node('a', { resources: { nanoCPUs: 2e9, memoryBytes: 1 << 30 } }), node('b', { resources: { nanoCPUs: 2e9, memoryBytes: 1 << 30 } })];
  const r = schedule({ nodes, placed: [], pending: tasks(5, { reservations: { nanoCPUs: 1e9, memoryBytes: 0 } }) });
  assert.deepEqual(perNode(r.assigned), { a: 2, b: 2 });
  assert.deepEqual(r.unschedulable, [{ taskId: 'svc-t4', reason: 'no suitable node (insufficient resources on 2 nodes)' }]);
});

test('a host-mode port is used once per node', () => {
  const r = schedule({ nodes: [node('a'), node('b')], placed: [], pending: tasks(3, { hostPorts: [{ protocol: 'tcp', publishedPort: 80 }] }) });
  assert.deepEqual(perNode(r.assigned), { a: 1, b: 1 });
  assert.equal(r.unschedulable[0]!.reason, 'no suitable node (host-mode port already in use on 2 nodes)');
});

test('max replicas per node caps each node', () => {
  const r = schedule({ nodes: [node('a'), node('b'), node('c')], placed: [], pending: tasks(4, { maxReplicasPerNode: 1 }) });
  assert.deepEqual(perNode(r.assigned), { a: 1, b: 1, c: 1 });
  assert.equal(r.unschedulable[0]!.reason, 'no suitable node (max replicas per node limit exceed)');
});

test('the platform filter keeps tasks on nodes of a listed platform', () => {
  const nodes = [node('x86'), node('arm', { platform: { os: 'linux', architecture: 'aarch64' } })];
  const r = schedule({ nodes, placed: [], pending: tasks(2, { platforms: [{ os: 'linux', architecture: 'arm64' }] }) });
  assert.deepEqual(perNode(r.assigned), { arm: 2 });
  const none = schedule({ nodes, placed: [], pending: tasks(1, { platforms: [{ os: 'windows' }] }) });
  assert.equal(none.unschedulable[0]!.reason, 'no suitable node (unsupported platform on 2 nodes)');
});

test('a global task with its node preset is only checked against that node', () => {
  const nodes = [node('a', { availability: 'drain' }), node('b')];
  const r = schedule({ nodes, placed: [], pending: [...tasks(1, { nodeId: 'a' }, 'g1'), ...tasks(1, { nodeId: 'b' }, 'g2'), ...tasks(1, { nodeId: 'zz' }, 'g3')] });
  assert.deepEqual(r.assigned, [{ taskId: 'g2-t0', nodeId: 'b' }]);
  assert.deepEqual(r.unschedulable.map((u) => u.reason), [
    'no suitable node (1 node not available for new tasks)',
    'no suitable node (node zz not found)',
  ]);
});

test('with no nodes at all the explanation says so', () => {
  assert.equal(schedule({ nodes: [], placed: [], pending: tasks(1) }).unschedulable[0]!.reason, 'no suitable node (no nodes in the cluster)');
});

test('malformed constraints are refused with a message naming the problem', () => {
  assert.throws(() => parseConstraint('node.role=manager'), /expected <key>==<value>/);
  assert.throws(() => parseConstraint('node.colour==red'), /unknown key "node.colour"/);
  assert.throws(() => parseConstraint('node.role==boss'), /manager or worker/);
  assert.throws(() => parseConstraint('node.ip==10.0.0.300'), /IPv4 address or CIDR/);
  assert.throws(() => parseConstraint('node.labels.x=='), /empty value/);
  assert.deepEqual(parseConstraint(' node.labels.zone != a '), { key: 'node.labels.zone', op: '!=', value: 'a' });
});
