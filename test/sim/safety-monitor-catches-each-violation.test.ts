import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfState, Entry, HardState, Snapshot } from '../../manager/raft/core/types.js';
import { InvariantViolation, SafetyMonitor, type DiskView } from './safety-monitor.js';

// A deliberately simple disk for feeding the monitor hand-made states.
function disk(entries: Array<[index: number, term: number]>, hs: HardState = { term: 5, vote: 0, commit: 0 }): DiskView {
  const byIndex = new Map(entries);
  const cs: ConfState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const snap: Snapshot = { data: new Uint8Array(), metadata: { confState: cs, index: 0, term: 0 } };
  return {
    hardState: () => hs,
    initialState: () => ({ hardState: hs, confState: cs }),
    entries: () => [],
    term: (i) => { if (i === 0) return 0; const t = byIndex.get(i); if (t === undefined) throw new Error('unavailable'); return t; },
    lastIndex: () => Math.max(0, ...byIndex.keys()),
    firstIndex: () => 1,
    snapshot: () => snap,
  };
}

const e = (index: number, term: number, data = 'x'): Entry => ({ index, term, type: 0, data: new TextEncoder().encode(data) });
const cfg: ConfState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const st = (role: 'leader' | 'follower', term: number) => ({ role, term, commit: 0, applied: 0, config: cfg });

function violates(name: RegExp, f: () => void): void {
  assert.throws(f, (err: unknown) => err instanceof InvariantViolation && name.test(err.invariant));
}

test('two leaders in one term break election safety, even at different moments', () => {
  const m = new SafetyMonitor();
  m.checkNode(1, st('leader', 3), 0, disk([]));
  m.checkNode(1, st('follower', 4), 0, disk([]));
  violates(/election safety/, () => m.checkNode(2, st('leader', 3), 0, disk([])));
});

test('a leader overwriting an entry of its own log breaks leader append-only', () => {
  const m = new SafetyMonitor();
  violates(/leader append-only/, () => m.checkPersist(1, disk([[1, 4], [2, 5]]), 5, { entries: [e(2, 4)] }));
});

test('the same (index, term) with different contents or predecessors breaks log matching', () => {
  const m = new SafetyMonitor();
  m.checkPersist(1, disk([[1, 1]]), 0, { entries: [e(2, 2, 'a')] });
  violates(/log matching/, () => m.checkPersist(2, disk([[1, 1]]), 0, { entries: [e(2, 2, 'b')] }));
  violates(/log matching/, () => m.checkPersist(3, disk([[1, 2]]), 0, { entries: [e(2, 2, 'a')] }));
});

test('two different entries applied at one index break state machine safety', () => {
  const m = new SafetyMonitor();
  m.checkApply(1, e(1, 1, 'a'));
  m.checkApply(2, e(1, 1, 'a'));
  violates(/state machine safety/, () => m.checkApply(3, e(1, 1, 'b')));
});

test('a leader lacking an entry committed in an earlier term breaks leader completeness', () => {
  const m = new SafetyMonitor();
  m.checkCommit(1, 2, 2, (i) => [0, 1, 2][i]);
  violates(/leader completeness/, () => m.checkNode(3, st('leader', 3), 0, disk([[1, 1], [2, 1]])));
});

test('a leader of an older term, elected late by delayed votes, may lack an entry committed after its term', () => {
  const m = new SafetyMonitor();
  m.checkCommit(1, 2, 6, (i) => [0, 1, 2][i]); // entry 2@2 committed by the leader of term 6
  m.checkNode(3, st('leader', 3), 0, disk([[1, 1]]));
  violates(/leader completeness/, () => m.checkNode(2, st('leader', 7), 0, disk([[1, 1]])));
});

test('hard state term or commit going backwards, or a vote changing within a term, is caught on disk', () => {
  const m = new SafetyMonitor();
  const d = disk([[1, 1]], { term: 5, vote: 2, commit: 1 });
  violates(/term monotonic/, () => m.checkPersist(1, d, 0, { hardState: { term: 4, vote: 0, commit: 1 }, entries: [] }));
  violates(/commit monotonic/, () => m.checkPersist(1, d, 0, { hardState: { term: 5, vote: 2, commit: 0 }, entries: [] }));
  violates(/vote fixed/, () => m.checkPersist(1, d, 0, { hardState: { term: 5, vote: 3, commit: 1 }, entries: [] }));
  m.checkPersist(1, d, 0, { hardState: { term: 6, vote: 3, commit: 1 }, entries: [] });
});

test('applied above committed, commit above the log, and a node both voter and learner are caught', () => {
  const m = new SafetyMonitor();
  violates(/applied ≤ committed/, () => m.checkNode(1, { ...st('follower', 1), commit: 2 }, 3, disk([])));
  violates(/committed ≤ last index/, () => m.checkDisk(1, disk([[1, 1]], { term: 1, vote: 0, commit: 2 })));
  const both = { ...cfg, learners: [3] };
  violates(/voters ∩ learners/, () => m.checkNode(1, { ...st('follower', 1), config: both }, 0, disk([])));
});

test('a node granting votes to two candidates in one term breaks one vote per term, even across restarts', () => {
  const m = new SafetyMonitor();
  m.checkVote(1, 4, 2);
  m.checkVote(1, 4, 2); // the same vote again (a duplicated request) is fine
  m.checkVote(1, 5, 3); // a new term, a new vote
  violates(/one vote per term/, () => m.checkVote(1, 4, 3));
});

test('an index reported committed with two different terms breaks committed-entries-are-final', () => {
  const m = new SafetyMonitor();
  m.checkCommit(1, 3, 2, (i) => [0, 1, 1, 2][i]);
  m.checkCommit(2, 2, 2, (i) => [0, 1, 1][i]);
  violates(/committed entries are final/, () => m.checkCommit(3, 3, 3, (i) => [0, 1, 1, 3][i]));
});

test('a leader lacking an entry another node reports committed (not yet applied anywhere) breaks leader completeness', () => {
  const m = new SafetyMonitor();
  m.checkCommit(1, 2, 2, (i) => [0, 1, 2][i]);
  violates(/leader completeness/, () => m.checkNode(3, st('leader', 3), 0, disk([[1, 1], [2, 1]])));
});

test('one node leading the same term in two incarnations (it lost its vote or log in between) breaks election safety', () => {
  const m = new SafetyMonitor();
  m.checkNode(1, { ...st('leader', 3), incarnation: 1 }, 0, disk([]));
  m.checkNode(1, { ...st('leader', 3), incarnation: 1 }, 0, disk([]));
  violates(/election safety/, () => m.checkNode(1, { ...st('leader', 3), incarnation: 2 }, 0, disk([])));
});
