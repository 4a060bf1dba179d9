import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventBus, eventMatches, parseEventTime } from '../../../worker/engine/events.js';
import { buildApi } from '../../../worker/engine/api/server.js';
import { fakeDeps } from './fake-engine.js';

function clock(startSec: number): { now: () => bigint; advance: (sec: number) => void } {
  let t = BigInt(startSec) * 1_000_000_000n;
  return { now: () => t, advance: (s) => (t += BigInt(s) * 1_000_000_000n) };
}

test("events have Docker's shape, with legacy fields for containers", () => {
  const c = clock(1_700_000_000);
  const bus = new EventBus({ nowNano: c.now });
  const e = bus.publish({ Type: 'container', Action: 'start', Actor: { ID: 'abc', Attributes: { name: 'web', image: 'busybox' } } });
  assert.deepEqual(e, { status: 'start', id: 'abc', from: 'busybox', Type: 'container', Action: 'start', Actor: { ID: 'abc', Attributes: { name: 'web', image: 'busybox' } }, scope: 'local', time: 1_700_000_000, timeNano: 1_700_000_000 * 1e9 });
  const v = bus.publish({ Type: 'volume', Action: 'create', Actor: { ID: 'v1' } });
  assert.equal(v.status, undefined);
  assert.ok(v.timeNano > e.timeNano, 'times are strictly increasing');
});

test('history is bounded and replayed by since/until', () => {
  const c = clock(1000);
  const bus = new EventBus({ capacity: 3, nowNano: c.now });
  for (let i = 0; i < 5; i++) {
    bus.publish({ Type: 'network', Action: `a${i}`, Actor: { ID: `n${i}` } });
    c.advance(10);
  }
  assert.deepEqual(bus.replay({}).map((e) => e.Action), ['a2', 'a3', 'a4']);
  assert.deepEqual(bus.replay({ sinceNano: parseEventTime('1030'), untilNano: parseEventTime('1035.5') }).map((e) => e.Action), ['a3']);
});

test('filters: type, event, container by name or id prefix, label, image', () => {
  const bus = new EventBus();
  const e = bus.publish({ Type: 'container', Action: 'exec_start: ls /', Actor: { ID: 'abcdef123456', Attributes: { name: 'web', image: 'busybox:latest', tier: 'front' } } });
  const f = (o: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(o));
  assert.ok(eventMatches(e, f({ type: ['container'], event: ['exec_start'] })));
  assert.ok(eventMatches(e, f({ container: ['web'] })));
  assert.ok(eventMatches(e, f({ container: ['abcdef'] })));
  assert.ok(!eventMatches(e, f({ container: ['db'] })));
  assert.ok(eventMatches(e, f({ label: ['tier=front'] })));
  assert.ok(!eventMatches(e, f({ label: ['tier=back'] })));
  assert.ok(eventMatches(e, f({ image: ['busybox:latest'] })));
  assert.ok(!eventMatches(e, f({ type: ['image'] })));
  assert.ok(!eventMatches(e, f({ volume: ['v1'] })), 'a volume filter only passes volume events');
});

test('parseEventTime reads unix seconds with fractions and RFC 3339', () => {
  assert.equal(parseEventTime('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseEventTime('1700000000.5'), 1_700_000_000_500_000_000n);
  assert.equal(parseEventTime('2023-11-14T22:13:20Z'), 1_700_000_000_000_000_000n);
  assert.equal(parseEventTime('soon'), undefined);
});

test('stream() replays then delivers live events and ends on abort', async () => {
  const bus = new EventBus();
  bus.publish({ Type: 'image', Action: 'tag', Actor: { ID: 'i1' } });
  const ac = new AbortController();
  const got: string[] = [];
  const done = (async () => {
    for await (const e of bus.stream({ filters: new Map([['type', ['image']]]) }, ac.signal)) {
      got.push(e.Action);
      if (got.length === 2) ac.abort();
    }
  })();
  bus.publish({ Type: 'volume', Action: 'create', Actor: { ID: 'v' } });
  bus.publish({ Type: 'image', Action: 'delete', Actor: { ID: 'i1' } });
  await done;
  assert.deepEqual(got, ['tag', 'delete']);
});

test('GET /events with until in the past returns the matching history as JSON lines and ends', async () => {
  const deps = fakeDeps();
  deps.events.publish({ Type: 'volume', Action: 'create', Actor: { ID: 'v1', Attributes: { driver: 'local' } } });
  deps.events.publish({ Type: 'network', Action: 'create', Actor: { ID: 'n1' } });
  const app = buildApi(deps);
  try {
    const until = Math.floor(Date.now() / 1000) + 1;
    const r = await app.inject({ method: 'GET', url: `/v1.41/events?since=0&until=${until}&filters=${encodeURIComponent('{"type":{"volume":true}}')}` });
    assert.equal(r.statusCode, 200);
    const lines = r.body.trim().split('\n').map((l) => JSON.parse(l) as { Type: string; Actor: { ID: string } });
    assert.deepEqual(lines.map((l) => [l.Type, l.Actor.ID]), [['volume', 'v1']]);
  } finally {
    await app.close();
  }
});
