import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfChangeCodecError, decodeConfChange, encodeConfChange } from '../../../manager/raft/core/conf-change-codec.js';
import {
  ConfChangeError, checkInvariants, enterJoint, leaveJoint, restoreConfState, simpleChange, type ChangerContext,
} from '../../../manager/raft/core/confchange.js';
import { confStateOf } from '../../../manager/raft/core/tracker.js';
import { ConfChangeTransition as T, ConfChangeType as C, type ConfChangeV2, type ConfState } from '../../../manager/raft/core/types.js';

test('codec: encode/decode round-trips and is deterministic; empty input is the leave-joint change', () => {
  const cc: ConfChangeV2 = {
    transition: T.JointExplicit,
    changes: [{ type: C.AddNode, nodeId: 2 ** 53 - 1 }, { type: C.AddLearnerNode, nodeId: 7 }, { type: C.RemoveNode, nodeId: 1 }],
    context: new TextEncoder().encode('10.0.0.7:2377'),
  };
  const b = encodeConfChange(cc);
  assert.deepEqual(encodeConfChange(cc), b);
  assert.deepEqual(decodeConfChange(b), cc);
  assert.deepEqual(decodeConfChange(new Uint8Array(0)), { transition: T.Auto, changes: [], context: new Uint8Array(0) });
});

test('codec: truncated, trailing or unknown-type input is rejected with ConfChangeCodecError', () => {
  const b = encodeConfChange({ transition: T.Auto, changes: [{ type: C.AddNode, nodeId: 3 }], context: new Uint8Array(0) });
  for (let n = 1; n < b.length; n++) assert.throws(() => decodeConfChange(b.slice(0, n)), ConfChangeCodecError);
  assert.throws(() => decodeConfChange(Uint8Array.of(...b, 0)), ConfChangeCodecError);
  const bad = b.slice();
  bad[7] = 9;
  assert.throws(() => decodeConfChange(bad), ConfChangeCodecError);
});

const cs = (voters: number[], learners: number[] = []): ConfState => ({ voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false });
function ctx(state: ConfState, lastIndex = 10): ChangerContext {
  const r = restoreConfState(state, lastIndex, 16, 0);
  return { config: r.config, progress: r.progress, lastIndex, maxInflight: 16, maxInflightBytes: 0 };
}

test('confchange: simple adds a voter or a learner; more than one voter change needs joint consensus', () => {
  const r = simpleChange(ctx(cs([1, 2])), [{ type: C.AddNode, nodeId: 3 }]);
  assert.deepEqual(confStateOf(r.config).voters, [1, 2, 3]);
  assert.equal(r.progress.get(3)?.next, 10);
  const l = simpleChange(ctx(cs([1, 2])), [{ type: C.AddLearnerNode, nodeId: 4 }]);
  assert.deepEqual(confStateOf(l.config).learners, [4]);
  assert.throws(() => simpleChange(ctx(cs([1, 2])), [{ type: C.AddNode, nodeId: 3 }, { type: C.AddNode, nodeId: 4 }]), /joint/);
  assert.throws(() => simpleChange(ctx(cs([1])), [{ type: C.RemoveNode, nodeId: 1 }]), /removed all voters/);
});

test('confchange: promoting a learner removes it from learners (voters ∩ learners = ∅)', () => {
  const r = simpleChange(ctx(cs([1, 2], [3])), [{ type: C.AddNode, nodeId: 3 }]);
  const s = confStateOf(r.config);
  assert.deepEqual(s.voters, [1, 2, 3]);
  assert.deepEqual(s.learners, []);
  assert.equal(r.progress.get(3)?.isLearner, false);
});

test('confchange: joint demotion goes through learnersNext and becomes a learner on leave', () => {
  const j = enterJoint(ctx(cs([1, 2, 3])), false, [{ type: C.AddLearnerNode, nodeId: 3 }, { type: C.AddNode, nodeId: 4 }]);
  const s = confStateOf(j.config);
  assert.deepEqual(s.voters, [1, 2, 4]);
  assert.deepEqual(s.votersOutgoing, [1, 2, 3]);
  assert.deepEqual(s.learnersNext, [3]);
  assert.deepEqual(s.learners, []);
  assert.throws(() => enterJoint({ ...ctx(cs([1])), config: j.config, progress: j.progress }, false, []), /already joint/);
  const l = leaveJoint({ config: j.config, progress: j.progress, lastIndex: 10, maxInflight: 16, maxInflightBytes: 0 });
  const t = confStateOf(l.config);
  assert.deepEqual(t.voters, [1, 2, 4]);
  assert.deepEqual(t.votersOutgoing, []);
  assert.deepEqual(t.learners, [3]);
  assert.equal(l.progress.get(3)?.isLearner, true);
  assert.throws(() => leaveJoint(ctx(cs([1]))), /non-joint/);
});

test('confchange: removed outgoing voters lose their progress when the joint config is left', () => {
  const j = enterJoint(ctx(cs([1, 2, 3])), true, [{ type: C.RemoveNode, nodeId: 3 }, { type: C.AddNode, nodeId: 4 }]);
  assert.ok(j.progress.has(3), 'still an outgoing voter');
  assert.equal(j.config.autoLeave, true);
  const l = leaveJoint({ config: j.config, progress: j.progress, lastIndex: 10, maxInflight: 16, maxInflightBytes: 0 });
  assert.equal(l.progress.has(3), false);
  assert.equal(l.config.autoLeave, false);
});

test('confchange: restore rebuilds a joint ConfState and checkInvariants catches overlap', () => {
  const joint: ConfState = { voters: [1, 2, 4], votersOutgoing: [1, 2, 3], learners: [5], learnersNext: [3], autoLeave: true };
  const r = restoreConfState(joint, 7, 16, 0);
  assert.deepEqual(confStateOf(r.config), joint);
  assert.throws(() => restoreConfState(cs([1, 2], [2]), 7, 16, 0), ConfChangeError);
  r.config.learners.add(1);
  assert.throws(() => checkInvariants(r.config, r.progress), ConfChangeError);
});
