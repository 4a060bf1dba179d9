import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './network.js';
import { MemoryStorage } from '../../../manager/raft/core/memory-storage.js';
import { LogInvariantError } from '../../../manager/raft/core/log.js';

/** The storage `s` would be if its last `n` entries had never been made durable. */
function withoutTail(s: MemoryStorage, n: number): MemoryStorage {
  const out = new MemoryStorage();
  out.applySnapshot(s.snapshot());
  const keep = s.lastIndex() - n;
  if (keep >= s.firstIndex()) out.append(s.entries(s.firstIndex(), keep + 1, Number.MAX_SAFE_INTEGER));
  out.setHardState({ ...s.hardState(), commit: Math.min(s.hardState().commit, keep) });
  return out;
}

test('a follower that lost entries it acknowledged refuses the leader\'s heartbeat commit loudly instead of clamping it and stalling', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  for (const v of ['a', 'b', 'c']) net.propose(1, v);
  const acked = net.node(3).storage.lastIndex();
  assert.equal(net.node(1).rn.status().progress?.get(3)?.match, acked, 'the leader knows node 3 holds everything');
  // Node 3 restarts from a disk that lost its last two entries (corruption, or fsync that lied).
  net.addNode(3, withoutTail(net.node(3).storage, 2));
  assert.throws(() => net.tick(1, [1]), (e: unknown) => e instanceof LogInvariantError && /lost|corrupt/.test(e.message),
    'a heartbeat committing beyond the follower\'s log must not be silently clamped');
});
