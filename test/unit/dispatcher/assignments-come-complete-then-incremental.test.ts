// Assignments: a node's first message is its complete set (its tasks at or past "assigned", ended ones
// included until deleted, plus the secrets its unfinished tasks reference), then only differences: new
// tasks, desired-state changes, removals, and nothing for changes that are only the agent's own reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher, type AssignmentMessage, type Sink, computeAssignments, diffAssignments } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore } from '../../../manager/store/index.js';
import { ManualClock, addNodes, quietLog, taskObject } from './fixtures.js';

const ID = (c: string) => c.repeat(25);

test('pure: the complete set holds this node\'s tasks from "assigned" on (ended ones until deleted), with the secrets of unfinished ones; the diff names what changed', async () => {
  const store = createStandaloneStore({ now: () => new Date(0).toISOString() });
  await addNodes(store, ['n1', 'n2']);
  await store.update((tx) => {
    tx.create('secrets', { ID: ID('s'), Spec: { Name: 'pw', Data: 'eA==' } });
    tx.create('secrets', { ID: ID('u'), Spec: { Name: 'unused', Data: 'eA==' } });
    tx.create('tasks', taskObject({ id: ID('a'), nodeId: 'n1', secrets: [ID('s')] }));
    tx.create('tasks', taskObject({ id: ID('b'), nodeId: 'n2' }));
    tx.create('tasks', taskObject({ id: ID('c'), nodeId: 'n1', state: 'pending' }));
    tx.create('tasks', taskObject({ id: ID('d'), nodeId: 'n1', state: 'complete', desired: 'shutdown' }));
  });
  const first = store.view((tx) => computeAssignments(tx, 'n1'));
  assert.deepEqual([...first.tasks.keys()].sort(), [ID('a'), ID('d')]);
  assert.deepEqual([...first.secrets.keys()], [ID('s')]);
  assert.equal(diffAssignments(first, first), null);

  // the agent's own report changes the task's version but nothing it acts on: no message
  await store.update((tx) => {
    const a = tx.get('tasks', ID('a'))!;
    tx.update('tasks', { ...a, Status: { ...a.Status, State: 'running' } });
  });
  const second = store.view((tx) => computeAssignments(tx, 'n1'));
  assert.equal(diffAssignments(first, second), null);

  await store.update((tx) => {
    const a = tx.get('tasks', ID('a'))!;
    tx.update('tasks', { ...a, DesiredState: 'shutdown' });
    tx.create('tasks', taskObject({ id: ID('e'), nodeId: 'n1' }));
  });
  const third = store.view((tx) => computeAssignments(tx, 'n1'));
  const d = diffAssignments(second, third)!;
  assert.equal(d.type, 'incremental');
  assert.deepEqual(d.changes.map((c) => `${c.action}:${c.kind}:${c.action === 'remove' ? c.id : c.kind === 'task' ? c.task.ID + ':' + c.task.DesiredState : ''}`).sort(), [
    `update:task:${ID('a')}:shutdown`, `update:task:${ID('e')}:running`,
  ]);

  await store.update((tx) => {
    const a = tx.get('tasks', ID('a'))!;
    tx.update('tasks', { ...a, Status: { ...a.Status, State: 'shutdown' } });
  });
  const fourth = store.view((tx) => computeAssignments(tx, 'n1'));
  const r = diffAssignments(third, fourth)!;
  // the ended task stays (its container and logs stay until the reaper deletes it); its secret leaves
  assert.deepEqual(r.changes.map((c) => `${c.action}:${c.kind}:${c.action === 'remove' ? c.id : ''}`).sort(), [
    `remove:secret:${ID('s')}`,
  ]);
  await store.update((tx) => tx.delete('tasks', ID('a')));
  const fifth = store.view((tx) => computeAssignments(tx, 'n1'));
  assert.deepEqual(diffAssignments(fourth, fifth)!.changes.map((c) => `${c.action}:${c.kind}:${c.action === 'remove' ? c.id : ''}`), [
    `remove:task:${ID('a')}`,
  ]);
  store.close();
});

test('dispatcher: the stream sends the complete set first, then incremental messages as the store changes', async () => {
  const clock = new ManualClock();
  const store = createStandaloneStore({ now: () => new Date(clock.t).toISOString() });
  await addNodes(store, ['n1']);
  await store.update((tx) => tx.create('tasks', taskObject({ id: ID('a'), nodeId: 'n1' })));
  const d = new Dispatcher({ timers: clock, batchMs: 5, heartbeatPeriodMs: 1000 });
  d.start({ store, now: clock.now, random: () => 0, log: quietLog, nodeId: 'm' });
  const sid = d.session('n1', { addr: '127.0.0.2' }, { send() {}, end() {} });
  const got: AssignmentMessage[] = [];
  const sink: Sink<AssignmentMessage> = { send: (m) => void got.push(m), end() {} };
  d.assignments('n1', sid, sink);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.type, 'complete');
  assert.equal(got[0]!.changes.length, 1);
  await store.update((tx) => tx.create('tasks', taskObject({ id: ID('b'), nodeId: 'n1' })));
  await store.update((tx) => tx.create('tasks', taskObject({ id: ID('c'), nodeId: 'n1' })));
  await clock.advance(10);
  assert.equal(got.length, 2, 'two store writes within the batch window make one message');
  assert.equal(got[1]!.type, 'incremental');
  assert.deepEqual(got[1]!.changes.map((c) => (c.kind === 'task' && c.action === 'update' ? c.task.ID : '')).sort(), [ID('b'), ID('c')]);
  await store.update((tx) => tx.delete('tasks', ID('a')));
  await clock.advance(10);
  assert.deepEqual(got[2]!.changes, [{ action: 'remove', kind: 'task', id: ID('a') }]);
  await d.stop();
  store.close();
});
