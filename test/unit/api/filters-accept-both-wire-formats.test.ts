import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../worker/engine/api/errors.js';
import { anyMatch, labelsMatch, parseFilters } from '../../../worker/engine/api/filters.js';

const KEYS = ['name', 'label', 'type'];

test("the CLI's map form and dockerode's list form parse to the same filters", () => {
  const cli = parseFilters('{"name":{"web":true,"db":true},"label":{"a=b":true}}', KEYS);
  const dockerode = parseFilters('{"name":["web","db"],"label":["a=b"]}', KEYS);
  assert.deepEqual([...cli.entries()], [...dockerode.entries()]);
  assert.deepEqual(cli.get('name'), ['web', 'db']);
});

test('values switched off in the map form are left out; absent filters are empty', () => {
  assert.deepEqual(parseFilters('{"name":{"web":true,"db":false}}', KEYS).get('name'), ['web']);
  assert.equal(parseFilters(undefined, KEYS).size, 0);
  assert.equal(parseFilters('', KEYS).size, 0);
});

test('unknown keys, bad JSON and bad value types are 400 ApiErrors', () => {
  for (const raw of ['{"colour":["red"]}', '{not json', '[1]', '{"name":[1]}', '{"name":7}']) {
    assert.throws(
      () => parseFilters(raw, KEYS),
      (e: unknown) => e instanceof ApiError && e.status === 400 && /invalid filter/.test(e.message),
      raw,
    );
  }
});

test('label filters need every key (and value when given); anyMatch passes when the key is absent', () => {
  assert.ok(labelsMatch({ a: 'b', c: 'd' }, ['a', 'c=d']));
  assert.ok(!labelsMatch({ a: 'b' }, ['a=x']));
  assert.ok(!labelsMatch({}, ['a']));
  assert.ok(labelsMatch(null, undefined));
  const f = parseFilters('{"name":["we"]}', KEYS);
  assert.ok(anyMatch(f, 'name', (v) => 'web'.startsWith(v)));
  assert.ok(!anyMatch(f, 'name', (v) => 'db'.startsWith(v)));
  assert.ok(anyMatch(f, 'label', () => false));
});
