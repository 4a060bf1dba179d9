import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSim } from './raft-sim.js';

test('running the same seed twice gives the same trace and the same outcome', () => {
  for (const seed of [7, 8]) {
    const a: string[] = [];
    const b: string[] = [];
    const ra = runSim({ seed, nodes: seed % 2 === 0 ? 5 : 3, duration: 2000, trace: (l) => a.push(l) });
    const rb = runSim({ seed, nodes: seed % 2 === 0 ? 5 : 3, duration: 2000, trace: (l) => b.push(l) });
    assert.ok(a.length > 100, 'the trace is too short to mean anything');
    assert.deepEqual(rb, ra);
    assert.deepEqual(b, a);
  }
});
