import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstError, jsonError, jsonLine, parseJsonMessages } from '../../../worker/engine/api/jsonmessage.js';

test('each message is one JSON object on its own line', () => {
  const body = jsonLine({ stream: 'Loaded image: busybox:latest\n' }) + jsonLine({ status: 'Downloading', id: 'abc', progressDetail: { current: 1, total: 2 } });
  assert.equal(body.split('\n').length, 3);
  const ms = parseJsonMessages(body);
  assert.equal(ms[0]!.stream, 'Loaded image: busybox:latest\n');
  assert.deepEqual(ms[1]!.progressDetail, { current: 1, total: 2 });
  assert.equal(firstError(ms), undefined);
});

test('an error carries both errorDetail and the legacy error field, and is found in a stream', () => {
  const e = jsonError('no such layer', 404);
  assert.deepEqual(e, { errorDetail: { code: 404, message: 'no such layer' }, error: 'no such layer' });
  const ms = parseJsonMessages(jsonLine({ status: 'x' }) + jsonLine(e));
  assert.equal(firstError(ms), 'no such layer');
  assert.throws(() => parseJsonMessages('[1]\n'), /not an object/);
});
