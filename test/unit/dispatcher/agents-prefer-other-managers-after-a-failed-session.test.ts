// After the leader dies, an agent's list still names it with the leader's double weight. A failed
// session cuts that manager's weight, so the agent's next picks go to the live managers (SwarmKit's agent
// observes a failed manager negatively) instead of half of its retries — and its growing backoff — going
// to the dead one while the new leader's grace window runs out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEADER_WEIGHT, MANAGER_WEIGHT, observeFailure, pickWeighted, type WeightedManager } from '../../../manager/dispatcher/index.js';

const share = (list: readonly WeightedManager[], addr: string): number => {
  let hits = 0;
  const n = 1000;
  for (let i = 0; i < n; i++) if (pickWeighted(list, i / n)!.addr === addr) hits++;
  return hits / n;
};

test('a failed manager is picked a quarter as often after one failure and almost never after two; the others keep their weights', () => {
  const list: WeightedManager[] = [
    { addr: 'm1', weight: LEADER_WEIGHT },
    { addr: 'm2', weight: MANAGER_WEIGHT },
    { addr: 'm3', weight: MANAGER_WEIGHT },
  ];
  assert.equal(share(list, 'm1'), 0.5, 'the old leader: half of all picks');
  const once = observeFailure(list, 'm1');
  assert.deepEqual(once.map((m) => m.weight), [LEADER_WEIGHT / 4, MANAGER_WEIGHT, MANAGER_WEIGHT]);
  assert.ok(share(once, 'm1') <= 0.2, `after one failure: ${share(once, 'm1')}`);
  const twice = observeFailure(once, 'm1');
  assert.ok(share(twice, 'm1') < 0.06, `after two failures: ${share(twice, 'm1')}`);
  assert.deepEqual(list.map((m) => m.weight), [LEADER_WEIGHT, MANAGER_WEIGHT, MANAGER_WEIGHT], 'the input list is not changed');
});

test('a weight never drops below 1: when every manager fails (no leader yet) the picks stay spread over all of them', () => {
  let list: WeightedManager[] = [
    { addr: 'm1', weight: LEADER_WEIGHT },
    { addr: 'm2', weight: MANAGER_WEIGHT },
  ];
  for (let i = 0; i < 10; i++) list = observeFailure(observeFailure(list, 'm1'), 'm2');
  assert.deepEqual(list.map((m) => m.weight), [1, 1]);
  assert.equal(share(list, 'm1'), 0.5);
  assert.deepEqual(observeFailure(list, 'unknown'), list, 'an address not in the list changes nothing');
});
