// Status intake: a report on a task assigned to another node, or one that would move the state
// backwards, is refused and changes nothing; valid reports in one request are written in one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher, checkReport } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, type TaskStatus } from '../../../manager/store/index.js';
import { ManualClock, addNodes, quietLog, taskObject } from './fixtures.js';

const ID = (c: string) => c.repeat(25);
const st = (State: TaskStatus['State']): TaskStatus => ({ State, Message: State, Timestamp: new Date(0).toISOString() });

test('pure: wrong node, backwards, unknown state and unknown task are refused with a reason', () => {
  const t = { ...taskObject({ id: ID('a'), nodeId: 'n1', state: 'running' }), Meta: { Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '' } };
  assert.equal(checkReport(t, 'n2', { taskId: t.ID, status: st('complete') }).kind, 'refused');
  const back = checkReport(t, 'n1', { taskId: t.ID, status: st('starting') });
  assert.ok(back.kind === 'refused' && back.reason === 'backwards');
  const wrong = checkReport(t, 'n2', { taskId: t.ID, status: st('complete') });
  assert.ok(wrong.kind === 'refused' && wrong.reason === 'wrong-node');
  const bad = checkReport(t, 'n1', { taskId: t.ID, status: { ...st('running'), State: 'sleeping' as TaskStatus['State'] } });
  assert.ok(bad.kind === 'refused' && bad.reason === 'invalid');
  assert.equal(checkReport(undefined, 'n1', { taskId: 'x', status: st('running') }).kind, 'refused');
  assert.equal(checkReport(t, 'n1', { taskId: t.ID, status: st('failed') }).kind, 'apply');
});

test('dispatcher: a batch with good and bad reports applies the good ones and refuses the rest', async () => {
  const clock = new ManualClock();
  const store = createStandaloneStore({ now: () => new Date(clock.t).toISOString() });
  await addNodes(store, ['n1', 'n2']);
  await store.update((tx) => {
    tx.create('tasks', taskObject({ id: ID('a'), nodeId: 'n1', state: 'assigned' }));
    tx.create('tasks', taskObject({ id: ID('b'), nodeId: 'n2', state: 'assigned' }));
    tx.create('tasks', taskObject({ id: ID('c'), nodeId: 'n1', state: 'running' }));
  });
  const d = new Dispatcher({ timers: clock, batchMs: 5, heartbeatPeriodMs: 1000 });
  d.start({ store, now: clock.now, random: () => 0, log: quietLog, nodeId: 'm' });
  const sid = d.session('n1', { addr: '127.0.0.2' }, { send() {}, end() {} });
  const answer = d.updateTaskStatus('n1', sid, [
    { taskId: ID('a'), status: st('running') },
    { taskId: ID('b'), status: st('running') },
    { taskId: ID('c'), status: st('preparing') },
  ]);
  await clock.advance(10);
  const r = await answer;
  assert.deepEqual(r.refused.map((x) => x.taskId).sort(), [ID('b'), ID('c')]);
  assert.match(r.refused.find((x) => x.taskId === ID('b'))!.message, /not assigned to node n1/);
  const states = store.view((tx) => tx.find('tasks').map((t) => `${t.ID[0]}:${t.Status.State}`));
  assert.deepEqual(states, ['a:running', 'b:assigned', 'c:running']);
  await assert.rejects(d.updateTaskStatus('n1', 'not-my-session', []), /not open/);
  await d.stop();
  store.close();
});
