import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRestart, validateRestartPolicy } from '../../../worker/engine/container/restart-policy.js';
import { applyResult, healthPlan } from '../../../worker/engine/container/health-monitor.js';
import { EngineError } from '../../../worker/engine/container/errors.js';

const base = { exitCode: 1, manualStop: false, restartCount: 0, ranMs: 50, lastDelayMs: 0 };

test('restart policies: no never, always always, on-failure only for non-zero up to the maximum, manual stop never', () => {
  assert.deepEqual(decideRestart({ Name: 'no' }, base), { restart: false });
  assert.deepEqual(decideRestart(undefined, base), { restart: false });
  assert.equal(decideRestart({ Name: 'always' }, { ...base, exitCode: 0 }).restart, true);
  assert.equal(decideRestart({ Name: 'unless-stopped' }, base).restart, true);
  assert.equal(decideRestart({ Name: 'on-failure' }, { ...base, exitCode: 0 }).restart, false);
  assert.equal(decideRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, { ...base, restartCount: 1 }).restart, true);
  assert.equal(decideRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, { ...base, restartCount: 2 }).restart, false);
  assert.equal(decideRestart({ Name: 'always' }, { ...base, manualStop: true }).restart, false);
});

test('backoff doubles from 100 ms, caps at a minute, and resets after a run of 10 s', () => {
  const d = (lastDelayMs: number, ranMs = 50): number => {
    const r = decideRestart({ Name: 'always' }, { ...base, lastDelayMs, ranMs });
    return r.restart ? r.delayMs : -1;
  };
  assert.equal(d(0), 100);
  assert.equal(d(100), 200);
  assert.equal(d(400), 800);
  assert.equal(d(50_000), 60_000);
  assert.equal(d(3200, 10_000), 100);
});

test('invalid restart policies are 400', () => {
  for (const [p, rm] of [[{ Name: 'sometimes' }, false], [{ Name: 'always', MaximumRetryCount: 3 }, false], [{ Name: 'on-failure', MaximumRetryCount: -1 }, false], [{ Name: 'always' }, true]] as const) {
    assert.throws(() => validateRestartPolicy(p, rm), (e: unknown) => e instanceof EngineError && e.status === 400);
  }
  validateRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 3 }, false);
});

test('health plan: CMD-SHELL wraps in sh -c, NONE disables, request overrides image, nanoseconds become ms', () => {
  assert.deepEqual(healthPlan({ Test: ['CMD-SHELL', 'curl -f x'], Interval: 2e9 }, undefined), { cmd: ['/bin/sh', '-c', 'curl -f x'], intervalMs: 2000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 });
  assert.equal(healthPlan({ Test: ['NONE'] }, { Test: ['CMD', 'true'] }), undefined);
  assert.deepEqual(healthPlan(undefined, { Test: ['CMD', 'true'], Retries: 5 })?.cmd, ['true']);
  assert.equal(healthPlan(undefined, undefined), undefined);
});

test('health state: one success is healthy, Retries failures unhealthy, start-period failures do not count, log keeps 5', () => {
  const r = (code: number) => ({ Start: 's', End: 'e', ExitCode: code, Output: '' });
  let s = { Status: 'starting' as const, FailingStreak: 0, Log: [] } as Parameters<typeof applyResult>[0];
  s = applyResult(s, r(1), 2, true);
  assert.equal(s.Status, 'starting');
  assert.equal(s.FailingStreak, 0);
  s = applyResult(s, r(0), 2, true);
  assert.equal(s.Status, 'healthy');
  s = applyResult(s, r(1), 2, false);
  assert.equal(s.Status, 'healthy');
  s = applyResult(s, r(1), 2, false);
  assert.equal(s.Status, 'unhealthy');
  for (let i = 0; i < 5; i++) s = applyResult(s, r(1), 2, false);
  assert.equal(s.Log.length, 5);
  assert.equal(s.FailingStreak, 7);
});
