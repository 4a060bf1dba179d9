import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initSwarmSpec, mergeSwarmSpec } from '../../../manager/controlapi/swarm-spec.js';
import { ControlError } from '../../../manager/controlapi/control-error.js';
import { defaultSwarmSpec } from '../../../manager/store/index.js';

const NS = 1e9;

test('swarm init with the docker CLI\'s zero-valued spec gives Docker\'s defaults', () => {
  const spec = initSwarmSpec({ Labels: null, Orchestration: {}, Raft: { ElectionTick: 0, HeartbeatTick: 0 }, Dispatcher: {}, CAConfig: {}, TaskDefaults: {}, EncryptionConfig: { AutoLockManagers: false } });
  assert.deepEqual(spec, { ...defaultSwarmSpec(), Labels: {} });
  assert.equal(spec.Dispatcher.HeartbeatPeriod, 5 * NS);
  assert.equal(spec.Raft.ElectionTick, 10);
});

test('an update keeps what it leaves zero or out, replaces labels, and changes what it sets', () => {
  const cur = { ...defaultSwarmSpec(), Labels: { a: '1' } };
  const next = mergeSwarmSpec(cur, { Orchestration: { TaskHistoryRetentionLimit: 3 }, Dispatcher: { HeartbeatPeriod: 0 }, Labels: { b: '2' } });
  assert.equal(next.Orchestration.TaskHistoryRetentionLimit, 3);
  assert.equal(next.Dispatcher.HeartbeatPeriod, 5 * NS);
  assert.deepEqual(next.Labels, { b: '2' });
  assert.equal(mergeSwarmSpec(cur, { Dispatcher: { HeartbeatPeriod: 2 * NS } }).Dispatcher.HeartbeatPeriod, 2 * NS);
  assert.deepEqual(mergeSwarmSpec(cur, undefined), cur);
});

test('bad specs are refused with 400 naming the field', () => {
  const bad = (raw: unknown, re: RegExp) => assert.throws(() => mergeSwarmSpec(defaultSwarmSpec(), raw), (e) => e instanceof ControlError && e.status === 400 && re.test(e.message));
  bad({ CAConfig: { NodeCertExpiry: 60 * NS } }, /CAConfig.NodeCertExpiry: minimum certificate expiry time is 1h0m0s/);
  bad({ Dispatcher: { HeartbeatPeriod: -1 } }, /HeartbeatPeriod: heartbeat period must be positive/);
  bad({ Orchestration: { TaskHistoryRetentionLimit: 'x' } }, /TaskHistoryRetentionLimit: "x" is not an integer/);
  bad({ EncryptionConfig: { AutoLockManagers: 'yes' } }, /EncryptionConfig.AutoLockManagers: "yes" is not a boolean/);
  bad({ Raft: { ElectionTick: 1, HeartbeatTick: 1 } }, /ElectionTick: must be greater than HeartbeatTick/);
  bad('nope', /Spec: must be a JSON object/);
});
