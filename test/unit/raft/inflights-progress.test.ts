import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inflights } from '../../../manager/raft/core/inflights.js';
import { Progress } from '../../../manager/raft/core/progress.js';
import { ProgressState } from '../../../manager/raft/core/types.js';

test('inflights: full at the message limit, freeLE frees everything up to an index', () => {
  const f = new Inflights(3, 0);
  f.add(1, 10); f.add(2, 10);
  assert.equal(f.full(), false);
  f.add(5, 10);
  assert.equal(f.full(), true);
  assert.throws(() => f.add(6, 1), /full/);
  f.freeLE(2);
  assert.equal(f.count(), 1);
  assert.equal(f.bytes(), 10);
  f.freeLE(100);
  assert.equal(f.count(), 0);
});

test('inflights: full at the byte limit even with free slots; indexes must increase', () => {
  const f = new Inflights(10, 100);
  f.add(1, 60);
  assert.equal(f.full(), false);
  f.add(2, 40);
  assert.equal(f.full(), true);
  f.freeLE(1);
  assert.equal(f.full(), false);
  assert.throws(() => f.add(2, 1), /not above/);
});

const pr = (match: number, next: number, state: ProgressState = ProgressState.Probe): Progress => {
  const p = new Progress(next, new Inflights(4, 0), false);
  p.match = match;
  if (state === ProgressState.Replicate) { p.becomeReplicate(); p.next = next; }
  return p;
};

test('progress: probe sends one message then pauses; a positive ack moves match and unpauses', () => {
  const p = pr(0, 5);
  assert.equal(p.isPaused(), false);
  p.sentEntries(3, 30);
  assert.equal(p.isPaused(), true);
  assert.equal(p.maybeUpdate(7), true);
  assert.equal(p.match, 7);
  assert.equal(p.next, 8);
  assert.equal(p.isPaused(), false);
  assert.equal(p.maybeUpdate(6), false, 'a stale ack does not move match back');
});

test('progress: replicate pipelines by advancing next, pausing when inflights fill', () => {
  const p = pr(5, 6, ProgressState.Replicate);
  for (let i = 0; i < 4; i++) p.sentEntries(1, 1);
  assert.equal(p.next, 10);
  assert.equal(p.isPaused(), true);
  p.inflights.freeLE(7);
  p.maybeUpdate(7);
  assert.equal(p.isPaused(), false);
});

test('progress: a stale rejection is ignored; a fresh one in replicate resets next to match+1 (match < next holds)', () => {
  const p = pr(5, 10, ProgressState.Replicate);
  assert.equal(p.maybeDecrTo(4, 4), false);
  assert.equal(p.maybeDecrTo(9, 9), true);
  assert.equal(p.next, 6);
  const q = pr(1, 10);
  assert.equal(q.maybeDecrTo(5, 5), false, 'probe: only a rejection of next-1 counts');
  assert.equal(q.maybeDecrTo(9, 3), true);
  assert.equal(q.next, 4, 'probe: next moves to the hint + 1');
  assert.ok(q.match < q.next);
  const r = pr(3, 10);
  r.maybeDecrTo(9, 0);
  assert.equal(r.next, 4, 'never below match + 1');
});

test('progress: snapshot state pauses; becomeProbe after it resumes after the snapshot index', () => {
  const p = pr(3, 4);
  p.becomeSnapshot(20);
  assert.equal(p.state, ProgressState.Snapshot);
  assert.equal(p.isPaused(), true);
  p.becomeProbe();
  assert.equal(p.next, 21);
  const q = pr(3, 4);
  q.becomeSnapshot(20);
  q.pendingSnapshot = 0; // failed snapshot
  q.becomeProbe();
  assert.equal(q.next, 4);
});
