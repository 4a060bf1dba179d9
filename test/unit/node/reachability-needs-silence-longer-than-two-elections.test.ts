import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReachabilityTracker } from '../../../manager/node/reachability.js';

test('a peer stays reachable through a cleared recentActive flag and turns unreachable only after the silence limit', () => {
  const r = new ReachabilityTracker(2000);
  r.reset([1, 2], 0);
  assert.ok(r.reachable(2, 1000), 'just after a leader change everyone counts as heard from');
  r.observe(500, new Map([[2, { recentActive: true }]]));
  r.observe(1000, new Map([[2, { recentActive: false }]])); // CheckQuorum cleared it
  assert.ok(r.reachable(2, 2400));
  assert.ok(!r.reachable(2, 2600), 'silent for more than 2 s after it was last heard');
  r.observe(2700, new Map([[2, { recentActive: true }]]));
  assert.ok(r.reachable(2, 2700), 'heard again');
  assert.ok(!r.reachable(9, 0), 'an unknown peer is not reachable');
});
