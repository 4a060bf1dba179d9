import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parsePublish } from '../../../cli/shoal/service-commands.js';

test('durations parse as Go writes them, into nanoseconds', () => {
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('200ms'), 200_000_000);
  assert.equal(parseDuration('1m30s'), 90_000_000_000);
  assert.equal(parseDuration('1.5s'), 1_500_000_000);
  assert.throws(() => parseDuration('5'), /invalid duration "5"/);
  assert.throws(() => parseDuration('5 s'), /invalid duration/);
});

test('-p accepts published:target[/proto], target alone, and the long form', () => {
  assert.deepEqual(parsePublish('8080:80'), { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' });
  assert.deepEqual(parsePublish('53/udp'), { Protocol: 'udp', TargetPort: 53, PublishMode: 'ingress' });
  assert.deepEqual(parsePublish('published=9000,target=90,mode=host'), { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9000, PublishMode: 'host' });
  assert.throws(() => parsePublish('a:b'), /invalid publish "a:b"/);
});
