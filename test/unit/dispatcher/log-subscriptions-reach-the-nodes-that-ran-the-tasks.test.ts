// Log subscriptions on the leader (Dispatcher + LogHub, manual clock): a subscription goes to the nodes
// that ran the selected tasks and no other; lines come back tagged with service, node and task; the
// stream ends when every node has closed its part, when a node's session ends, or when nothing comes
// for the idle window; following, a task placed later on another node brings that node in; a reader
// that stops tells the nodes to stop; bad selectors are refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Dispatcher, type LogLine, type Sink, type SubscriptionMessage, checkSubscription, managerLogBroker } from '../../../manager/dispatcher/index.js';
import type { LogSource } from '../../../manager/controlapi/service-logs.js';
import { createStandaloneStore } from '../../../manager/store/index.js';
import { ManualClock, addNodes, quietLog, settle, taskObject } from './fixtures.js';

const SVC = 'svcweb'.padEnd(25, '0');
const OTHER = 'svcdb'.padEnd(25, '0');
const id = (c: string) => c.repeat(25);

async function setup() {
  const clock = new ManualClock();
  const store = createStandaloneStore({ now: () => new Date(clock.t).toISOString() });
  await addNodes(store, ['n1', 'n2', 'n3']);
  await store.update((tx) => {
    tx.create('tasks', { ...taskObject({ id: id('a'), nodeId: 'n1', service: 'web', state: 'running' }), ServiceID: SVC });
    tx.create('tasks', { ...taskObject({ id: id('b'), nodeId: 'n2', service: 'web', slot: 2, state: 'failed', desired: 'shutdown' }), ServiceID: SVC });
    tx.create('tasks', { ...taskObject({ id: id('c'), nodeId: 'n3', service: 'db', state: 'running' }), ServiceID: OTHER });
  });
  const d = new Dispatcher({ timers: clock, batchMs: 5, heartbeatPeriodMs: 100_000 });
  d.start({ store, now: clock.now, random: () => 0, log: quietLog, nodeId: 'm' });
  const sessions = new Map<string, string>();
  const got = new Map<string, SubscriptionMessage[]>();
  for (const n of ['n1', 'n2', 'n3']) {
    const sid = d.session(n, { addr: '' }, { send() {}, end() {} });
    sessions.set(n, sid);
    const list: SubscriptionMessage[] = [];
    got.set(n, list);
    const sink: Sink<SubscriptionMessage> = { send: (m) => void list.push(m), end() {} };
    d.listenSubscriptions(n, sid, sink);
  }
  const line = (taskId: string, text: string) => ({ taskId, serviceId: SVC, timestamp: '2026-01-01T00:00:00.000000001Z', stream: 'stdout' as const, data: Buffer.from(text).toString('base64') });
  return { clock, store, d, sessions, got, line };
}

async function collect(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

test('a subscription reaches only the nodes that ran the tasks; lines come back tagged; it ends when every node closed', async () => {
  const { store, d, sessions, got, line } = await setup();
  const done = collect(d.subscribe({ serviceIds: [SVC] }, { tail: 10 }));
  assert.equal(got.get('n1')!.length, 1);
  assert.equal(got.get('n2')!.length, 1, 'the node of an ended task is asked too (its container keeps its logs)');
  assert.equal(got.get('n3')!.length, 0);
  const sub = got.get('n1')![0]!;
  assert.deepEqual(sub.selector, { serviceIds: [SVC] });
  assert.deepEqual(sub.options, { tail: 10 });
  assert.deepEqual(await d.publishLogs('n1', { sessionId: sessions.get('n1')!, subscriptionId: sub.id, messages: [line(id('a'), 'one\n'), line(id('a'), 'two\n')], close: true }), { stop: false });
  await d.publishLogs('n2', { sessionId: sessions.get('n2')!, subscriptionId: sub.id, messages: [line(id('b'), 'crash\n')], close: true });
  const lines = await done;
  assert.deepEqual(lines.map((l) => `${l.context.nodeId}/${l.context.taskId === id('a') ? 'a' : 'b'}/${l.context.serviceId === SVC}:${l.data.toString()}`), ['n1/a/true:one\n', 'n1/a/true:two\n', 'n2/b/true:crash\n']);
  // a node may not publish into a subscription it was not given
  assert.deepEqual(await d.publishLogs('n3', { sessionId: sessions.get('n3')!, subscriptionId: sub.id, messages: [line(id('c'), 'x')] }), { stop: true });
  await d.stop();
  store.close();
});

test('a node whose session ends, or that stays silent for the idle window, no longer holds the stream open', async () => {
  const { clock, store, d, sessions, got, line } = await setup();
  const done = collect(d.subscribe({ serviceIds: [SVC] }, {}));
  const sub = got.get('n1')![0]!;
  await d.publishLogs('n1', { sessionId: sessions.get('n1')!, subscriptionId: sub.id, messages: [line(id('a'), 'one\n')], close: true });
  d.closeSession('n2', sessions.get('n2')!);
  assert.equal((await done).length, 1);

  const silent = collect(d.subscribe({ taskIds: [id('a')] }, {}));
  await clock.advance(29_000);
  let ended = false;
  void silent.then(() => (ended = true));
  await settle();
  assert.equal(ended, false);
  await clock.advance(2_000);
  assert.deepEqual(await silent, []);
  await d.stop();
  store.close();
});

test('following: a task of the service placed later on another node brings that node in; a reader that stops tells the nodes to stop', async () => {
  const { clock, store, d, got } = await setup();
  const abort = new AbortController();
  const it = d.subscribe({ serviceIds: [SVC] }, { follow: true }, abort.signal);
  const reading = collect(it);
  assert.equal(got.get('n3')!.length, 0);
  await store.update((tx) => tx.create('tasks', { ...taskObject({ id: id('e'), nodeId: 'n3', service: 'web', slot: 3, state: 'assigned' }), ServiceID: SVC }));
  await clock.advance(10);
  assert.equal(got.get('n3')!.length, 1, 'n3 got the subscription when a web task landed there');
  assert.equal(got.get('n3')![0]!.options.follow, true);
  abort.abort();
  assert.deepEqual(await reading, []);
  for (const n of ['n1', 'n2', 'n3']) assert.equal(got.get(n)!.at(-1)!.close, true, `${n} told to stop`);
  await d.stop();
  store.close();
});

test('bad selectors and options are refused naming the field', () => {
  assert.throws(() => checkSubscription({}, {}), /selector: name at least one service or task/);
  assert.throws(() => checkSubscription({ serviceIds: 'web' }, {}), /selector.serviceIds: must be an array of strings/);
  assert.throws(() => checkSubscription({ serviceIds: ['x'] }, { tail: -1 }), /options.tail/);
  assert.throws(() => checkSubscription({ serviceIds: ['x'] }, { follow: 'yes' }), /options.follow: must be a boolean/);
  assert.deepEqual(checkSubscription({ taskIds: ['t'] }, { tail: 5, since: 12.5 }), { selector: { taskIds: ['t'] }, options: { tail: 5, since: 12.5 } });
});

test('the Dispatcher and managerLogBroker are the LogSource the services REST routes take; its "streams" option reaches the agents as stdout/stderr', async () => {
  const { store, d, got } = await setup();
  // compile-time: both fit manager/controlapi/service-logs.ts's LogSource
  const asSource: LogSource = d;
  const remote: LogSource = managerLogBroker({ dispatcher: d, leaderAddr: () => undefined, credentials: grpc.credentials.createInsecure() });
  void remote;
  const abort = new AbortController();
  const it = asSource.subscribe({ serviceIds: [SVC] }, { follow: true, streams: ['stderr'], tail: 2 }, abort.signal);
  const reading = collect(it as AsyncIterable<LogLine>);
  assert.deepEqual(got.get('n1')![0]!.options, { follow: true, tail: 2, stdout: false, stderr: true });
  abort.abort();
  await reading;
  await d.stop();
  store.close();
});
