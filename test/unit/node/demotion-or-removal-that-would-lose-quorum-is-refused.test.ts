import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canRemoveMember } from '../../../manager/node/quorum.js';

const m = (id: number, reachable = true) => ({ id, reachable });

test('removing a member is allowed while the reachable rest is a majority of the new configuration', () => {
  assert.deepEqual(canRemoveMember([m(1), m(2), m(3)], 3), { ok: true });
  assert.deepEqual(canRemoveMember([m(1), m(2), m(3), m(4, false), m(5)], 4), { ok: true }, 'removing the unreachable one is fine');
  assert.deepEqual(canRemoveMember([m(1), m(2)], 2), { ok: true }, 'two managers down to one');
});

test('removing a member that would leave the reachable ones short of a quorum is refused with SwarmKit\'s message', () => {
  const d = canRemoveMember([m(1), m(2, false), m(3)], 3);
  assert.equal(d.ok, false);
  assert.equal(!d.ok && d.reason, 'quorum');
  assert.equal(!d.ok && d.message, "can't remove member from the raft: this would result in a loss of quorum");
  assert.equal(canRemoveMember([m(1), m(2, false), m(3, false), m(4), m(5)], 5).ok, false);
});

test('the last manager cannot be removed', () => {
  const d = canRemoveMember([m(7)], 7);
  assert.equal(!d.ok && d.reason, 'last-manager');
  assert.match(!d.ok ? d.message : '', /last manager/);
});
