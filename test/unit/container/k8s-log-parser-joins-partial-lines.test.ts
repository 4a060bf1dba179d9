import { test } from 'node:test';
import assert from 'node:assert/strict';
import { K8sLogParser, logTimeSeconds } from '../../../worker/engine/container/log-reader.js';

test('full lines, partial lines joined per stream, split chunks, garbage skipped', () => {
  const p = new K8sLogParser();
  const text =
    '2026-11-22T13:08:27.671847993+00:00 stdout P hel\n' +
    '2026-11-22T13:08:27.671847994+00:00 stderr F err line\n' +
    '2026-11-22T13:08:27.671847995+00:00 stdout F lo world\n' +
    'not a log line\n' +
    '2026-11-22T13:08:28.000000000+00:00 stdout F \n';
  const buf = Buffer.from(text);
  const out = [...p.push(buf.subarray(0, 30)), ...p.push(buf.subarray(30, 100)), ...p.push(buf.subarray(100))];
  assert.deepEqual(out.map((e) => [e.stream, e.data.toString()]), [['stderr', 'err line\n'], ['stdout', 'hello world\n'], ['stdout', '\n']]);
  assert.equal(out[1]!.time, '2026-11-22T13:08:27.671847995+00:00');
  p.push(Buffer.from('2026-11-22T13:08:29.5+00:00 stdout P tail-without-newline\n'));
  assert.deepEqual(p.flush().map((e) => e.data.toString()), ['tail-without-newline']);
});

test('RFC 3339 nano timestamps convert to unix seconds with the fraction', () => {
  assert.equal(logTimeSeconds('1970-01-01T00:00:01.500000000+00:00'), 1.5);
  assert.equal(logTimeSeconds('1970-01-01T01:00:00.25+01:00'), 0.25);
});
