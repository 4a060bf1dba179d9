import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schedule } from '../../../manager/scheduler/index.js';
import { node, perNode, tasks } from './fixtures.js';

test('7 replicas over 3 nodes land 3/2/2, the tie broken by node ID', () => {
  const r = schedule({ nodes: [node('c'), node('a'), node('b')], placed: [], pending: tasks(7) });
  assert.equal(r.unschedulable.length, 0);
  assert.deepEqual(perNode(r.assigned), { a: 3, b: 2, c: 2 });
});

test('tasks already running count: new replicas go where the service has fewest, then where fewest tasks run in all', () => {
  const placed = [
    { id: 'x1', serviceId: 'svc', nodeId: 'a', reservations: { nanoCPUs: 0, memoryBytes: 0 }, hostPorts: [] },
    { id: 'x2', serviceId: 'svc', nodeId: 'a', reservations: { nanoCPUs: 0, memoryBytes: 0 }, hostPorts: [] },
    { id: 'o1', serviceId: 'other', nodeId: 'b', reservations: { nanoCPUs: 0, memoryBytes: 0 }, hostPorts: [] },
  ];
  const r = schedule({ nodes: [node('a'), node('b'), node('c')], placed, pending: tasks(3) });
  // c (0 of svc, 0 in all) first, then b (0 of svc, 1 in all), then c or b again (1 of svc): c has fewer in all
  assert.deepEqual(r.assigned.map((d) => d.nodeId), ['c', 'b', 'c']);
});

test('10,000 tasks over 1,000 nodes are placed as one batch and end within one task of each other', () => {
  const nodes = Array.from({ length: 1000 }, (_, i) => node(`n${String(i).padStart(4, '0')}`));
  const r = schedule({ nodes, placed: [], pending: tasks(10_000) });
  assert.equal(r.assigned.length, 10_000);
  const counts = Object.values(perNode(r.assigned));
  assert.equal(counts.length, 1000);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1);
});

test('placement preferences spread over label values first: 4 tasks over zone a (1 node) and zone b (2 nodes) go 2 and 2', () => {
  const nodes = [node('a1', { labels: { zone: 'a' } }), node('b1', { labels: { zone: 'b' } }), node('b2', { labels: { zone: 'b' } })];
  const r = schedule({ nodes, placed: [], pending: tasks(4, { preferences: [{ spreadDescriptor: 'node.labels.zone' }] }) });
  assert.deepEqual(perNode(r.assigned), { a1: 2, b1: 1, b2: 1 });
});

test('nodes without the preference label form their own group', () => {
  const nodes = [node('a1', { labels: { zone: 'a' } }), node('n1'), node('n2')];
  const r = schedule({ nodes, placed: [], pending: tasks(2, { preferences: [{ spreadDescriptor: 'node.labels.zone' }] }) });
  const p = perNode(r.assigned);
  assert.equal(p['a1'], 1);
  assert.equal((p['n1'] ?? 0) + (p['n2'] ?? 0), 1);
});
