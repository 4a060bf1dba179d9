import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRestart } from '../../../manager/orchestrator/restart-policy.js';

const S = 1_000_000_000;

test('condition any (the default) restarts after completion and failure, with the 5 s default delay', () => {
  assert.deepEqual(decideRestart(undefined, 'complete', [], 0), { restart: true, delayMs: 5000 });
  assert.deepEqual(decideRestart({ Condition: 'any', Delay: 2 * S }, 'failed', [], 0), { restart: true, delayMs: 2000 });
});

test('on-failure restarts failed and rejected tasks, not completed ones; none never restarts', () => {
  assert.equal(decideRestart({ Condition: 'on-failure' }, 'failed', [], 0).restart, true);
  assert.equal(decideRestart({ Condition: 'on-failure' }, 'rejected', [], 0).restart, true);
  assert.equal(decideRestart({ Condition: 'on-failure' }, 'complete', [], 0).restart, false);
  assert.equal(decideRestart({ Condition: 'none' }, 'failed', [], 0).restart, false);
  assert.equal(decideRestart({ Condition: 'any' }, 'shutdown', [], 0).restart, false);
});

test('max attempts count every restart of the slot, or only those within the window', () => {
  const now = 1_000_000;
  const history = [now - 50_000, now - 20_000, now - 1_000];
  assert.deepEqual(decideRestart({ MaxAttempts: 3 }, 'failed', history, now), { restart: false, reason: 'restart attempts exhausted (3 of 3)' });
  assert.equal(decideRestart({ MaxAttempts: 4 }, 'failed', history, now).restart, true);
  // a 30 s window holds only the last two
  assert.equal(decideRestart({ MaxAttempts: 3, Window: 30 * S }, 'failed', history, now).restart, true);
  assert.equal(decideRestart({ MaxAttempts: 2, Window: 30 * S }, 'failed', history, now).restart, false);
  assert.equal(decideRestart({ MaxAttempts: 0 }, 'failed', new Array(1000).fill(now), now).restart, true, '0 = unlimited');
});
