import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileReplicated, type SlotTask } from '../../../manager/orchestrator/replicated-reconcile.js';

const run = (id: string, slot: number, nodeId: string, state: SlotTask['state'] = 'running'): SlotTask => ({ id, slot, nodeId, state, desiredState: 'running' });

test('scale up fills the lowest free slot numbers', () => {
  assert.deepEqual(reconcileReplicated(3, []), { create: [1, 2, 3], remove: [] });
  assert.deepEqual(reconcileReplicated(4, [run('a', 1, 'n1'), run('c', 3, 'n1')]), { create: [2, 4], remove: [] });
});

test('a slot whose task ended or is being shut down counts as empty; a converged service needs nothing', () => {
  const tasks = [run('a', 1, 'n1'), { ...run('b', 2, 'n1'), state: 'failed' as const }, { ...run('c', 3, 'n2'), desiredState: 'shutdown' as const }];
  assert.deepEqual(reconcileReplicated(3, tasks), { create: [2, 3], remove: [] });
  assert.deepEqual(reconcileReplicated(1, [run('a', 1, 'n1')]), { create: [], remove: [] });
});

test('scale down removes from the node crowded with the service first, then the highest slots', () => {
  const tasks = [run('a', 1, 'n1'), run('b', 2, 'n1'), run('c', 3, 'n1'), run('d', 4, 'n2'), run('e', 5, 'n3')];
  const plan = reconcileReplicated(3, tasks);
  assert.deepEqual(plan.create, []);
  assert.deepEqual(plan.remove.sort(), ['b', 'c'], 'n1 goes from 3 to 1; the other nodes keep theirs');
});

test('scale down prefers tasks that are not running yet', () => {
  const tasks = [run('a', 1, 'n1'), run('b', 2, 'n2'), run('c', 3, 'n3', 'preparing')];
  assert.deepEqual(reconcileReplicated(2, tasks).remove, ['c']);
  assert.deepEqual(reconcileReplicated(0, tasks).remove.sort(), ['a', 'b', 'c']);
});
