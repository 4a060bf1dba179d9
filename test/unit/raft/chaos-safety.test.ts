import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enc, Network } from './network.js';
import { RaftRole, seededRandom } from '../../../manager/raft/core/types.js';

/**
 * Seeded chaos on the in-process network (lossy links, partitions, random ticks and proposals,
 * compaction) checking Election Safety and State Machine Safety after every step.
 */
function runSeed(seed: number, opts: { preVote: boolean; checkQuorum: boolean }): void {
  const ids = [1, 2, 3, 4, 5];
  const net = new Network(ids, { ...opts, electionTick: 6 }, { seed });
  const rnd = seededRandom(seed * 31 + 7);
  const leaderOfTerm = new Map<number, number>();
  const appliedAt = new Map<number, string>();
  let proposals = 0;
  for (let step = 0; step < 400; step++) {
    const r = rnd(100);
    if (r < 50) net.node(ids[rnd(5)] as number).rn.tick();
    else if (r < 75) net.node(ids[rnd(5)] as number).rn.propose(enc(`s${seed}-p${proposals++}`));
    else if (r < 80) net.isolate(ids[rnd(5)] as number);
    else if (r < 88) net.recover();
    else if (r < 92) net.drop(ids[rnd(5)] as number, ids[rnd(5)] as number, 0.3);
    else {
      const n = net.node(ids[rnd(5)] as number);
      const applied = n.rn.status().applied;
      if (applied > n.storage.snapshot().metadata.index + 3) {
        n.storage.createSnapshot(applied, n.confState ?? n.rn.status().config, enc('x'));
        n.storage.compact(applied);
      }
    }
    net.stabilize();
    for (const id of ids) {
      if (net.role(id) === RaftRole.Leader) {
        const t = net.term(id);
        const prev = leaderOfTerm.get(t);
        assert.ok(prev === undefined || prev === id, `seed ${seed}: two leaders (${prev}, ${id}) in term ${t}`);
        leaderOfTerm.set(t, id);
      }
      for (const e of net.node(id).appliedAll) {
        const key = `${e.term}:${Buffer.from(e.data).toString('hex')}`;
        const seen = appliedAt.get(e.index);
        assert.ok(seen === undefined || seen === key, `seed ${seed}: node ${id} applied a different entry at ${e.index}`);
        appliedAt.set(e.index, key);
      }
    }
  }
  net.recover();
  net.tick(30);
  const leaders = net.leaders();
  assert.equal(leaders.length, 1, `seed ${seed}: a leader after healing`);
  net.propose(leaders[0] as number, 'final');
  const c = net.committed(leaders[0] as number);
  for (const id of ids) assert.equal(net.committed(id), c, `seed ${seed}: node ${id} caught up after healing`);
}

test('chaos: election safety and state machine safety hold on 5 nodes with loss and partitions (PreVote + CheckQuorum)', () => {
  for (let seed = 1; seed <= 15; seed++) runSeed(seed, { preVote: true, checkQuorum: true });
});

test('chaos: the same safety holds without PreVote and CheckQuorum', () => {
  for (let seed = 100; seed <= 115; seed++) runSeed(seed, { preVote: false, checkQuorum: false });
});
