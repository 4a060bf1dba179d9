// The dispatcher's heartbeat bookkeeping on a manual clock: a node that stops beating is down after 3
// periods (not before), a beating node never is, a new leader gives every node a grace window, and
// the period comes from the Cluster spec (nanoseconds) unless overridden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher, HeartbeatTracker, nextPeriod, type SessionMessage, type Sink } from '../../../manager/dispatcher/index.js';
import { createStandaloneStore, defaultSwarmSpec } from '../../../manager/store/index.js';
import { ManualClock, addNodes, quietLog } from './fixtures.js';

test('tracker: a node missing 3 heartbeats expires at exactly 3 periods, a beating node never', () => {
  const t = new HeartbeatTracker({ periodMs: 1000 });
  t.beat('a', 0, 0);
  t.beat('b', 0, 0);
  for (let now = 900; now <= 10_000; now += 900) {
    t.beat('b', now, 0.5);
    const gone = t.expire(now);
    if (now < 3000) assert.deepEqual(gone, [], `nothing expires at ${now}`);
    if (now >= 3000 && now < 3900) assert.deepEqual(gone, ['a']);
    if (now >= 3900) assert.deepEqual(gone, []);
  }
});

test('tracker: the period told to agents is jittered but never longer than configured', () => {
  for (const r of [0, 0.1, 0.5, 0.999]) {
    const p = nextPeriod(5000, r);
    assert.ok(p <= 5000 && p >= 5000 * 0.75, `period ${p} for random ${r}`);
  }
  assert.notEqual(nextPeriod(5000, 0), nextPeriod(5000, 0.9));
});

function sink(): Sink<SessionMessage> & { msgs: SessionMessage[]; ended: boolean } {
  const s = { msgs: [] as SessionMessage[], ended: false, send: (m: SessionMessage) => void s.msgs.push(m), end: () => void (s.ended = true) };
  return s;
}

async function setup(periodMs?: number) {
  const clock = new ManualClock();
  const store = createStandaloneStore({ now: () => new Date(clock.t).toISOString() });
  await store.update((tx) =>
    tx.create('clusters', {
      ID: 'c'.repeat(25), Spec: { ...defaultSwarmSpec(), Dispatcher: { HeartbeatPeriod: 200_000_000 } },
      JoinTokens: { Worker: '', Manager: '' }, RootCACert: '', RootCADigest: '',
    }),
  );
  const d = new Dispatcher({ timers: clock, batchMs: 5, heartbeatPeriodMs: periodMs });
  const ctx = { store, now: clock.now, random: () => 0.5, log: quietLog, nodeId: 'm' };
  const state = (id: string) => store.view((tx) => tx.get('nodes', id)!.Status.State);
  return { clock, store, d, ctx, state };
}

test('dispatcher: the period comes from the Cluster spec (200 ms here), a session makes the node ready, silence makes it down after 3 periods', async () => {
  const { clock, store, d, ctx, state } = await setup();
  await addNodes(store, ['n1', 'n2']);
  d.start(ctx);
  assert.equal(d.periodMs, 200);
  const s1 = sink();
  const s2 = sink();
  const id1 = d.session('n1', { addr: '127.0.0.2' }, s1);
  d.session('n2', { addr: '127.0.0.3' }, s2);
  await clock.advance(10);
  assert.equal(state('n1'), 'ready');
  assert.equal(store.view((tx) => tx.get('nodes', 'n1')!.Status.Addr), '127.0.0.2');
  assert.equal(s1.msgs[0]!.heartbeatPeriodMs, 200);
  // n1 beats every 150 ms; n2 says nothing
  for (let i = 0; i < 3; i++) {
    await clock.advance(150);
    d.heartbeat('n1', id1);
  }
  assert.equal(state('n2'), 'ready', 'not down before 3 periods (450 ms passed)');
  await clock.advance(200);
  d.heartbeat('n1', id1);
  await clock.advance(10);
  assert.equal(state('n2'), 'down');
  assert.equal(store.view((tx) => tx.get('nodes', 'n2')!.Status.Message), 'heartbeat failure');
  assert.equal(s2.ended, true, 'the silent node\'s session was ended');
  assert.equal(state('n1'), 'ready');
  assert.throws(() => d.heartbeat('n2', 'whatever'), /not open/);
  await d.stop();
  store.close();
});

test('dispatcher: a dropped session with heartbeats not yet lost is disconnected, then down when the window passes', async () => {
  const { clock, store, d, ctx, state } = await setup(100);
  await addNodes(store, ['n1']);
  d.start(ctx);
  const id = d.session('n1', { addr: '127.0.0.2' }, sink());
  await clock.advance(10);
  d.closeSession('n1', id);
  await clock.advance(10);
  assert.equal(state('n1'), 'disconnected');
  await clock.advance(300);
  assert.equal(state('n1'), 'down');
  await d.stop();
  store.close();
});

test('dispatcher: after a leader change every ready node gets a grace window of 6 periods (twice the down window, as SwarmKit) before it can be marked down', async () => {
  const { clock, store, d, ctx, state } = await setup(100);
  await addNodes(store, ['a', 'b'], 'ready');
  d.start(ctx); // this manager just became leader: no sessions yet
  await clock.advance(350);
  assert.equal(state('b'), 'ready', 'past 3 periods: an agent still looking for the new leader is not down yet');
  const id = d.session('a', { addr: '127.0.0.2' }, sink()); // a reconnects to the new leader
  await clock.advance(40);
  d.heartbeat('a', id);
  await clock.advance(200);
  assert.equal(state('b'), 'ready', 'within the grace window nothing is down');
  d.heartbeat('a', id);
  await clock.advance(20);
  assert.equal(state('b'), 'down', 'b never came back: down at the end of the grace window (600 ms)');
  assert.equal(state('a'), 'ready');
  await d.stop();
  store.close();
});

test('dispatcher: a node not in the store, or on the removed list, is refused a session', async () => {
  const { store, d, ctx } = await setup(100);
  await addNodes(store, ['n1']);
  await store.update((tx) => {
    const c = tx.find('clusters')[0]!;
    tx.update('clusters', { ...c, BlacklistedCertificates: { n1: { Expiry: '' } } });
  });
  d.start(ctx);
  assert.throws(() => d.session('ghost', { addr: '' }, sink()), (e: Error & { code?: string }) => e.code === 'permission-denied');
  assert.throws(() => d.session('n1', { addr: '' }, sink()), (e: Error & { code?: string }) => e.code === 'permission-denied');
  await d.stop();
  assert.throws(() => d.session('n1', { addr: '' }, sink()), (e: Error & { code?: string }) => e.code === 'not-leader');
  store.close();
});
