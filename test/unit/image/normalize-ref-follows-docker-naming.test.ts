import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageError, fullyQualified, normalizeRef, parseRef } from '../../../worker/engine/image/index.js';

test('a bare name means :latest and docker.io/library/ is dropped, as in Docker', () => {
  assert.equal(normalizeRef('busybox'), 'busybox:latest');
  assert.equal(normalizeRef('busybox:1.35'), 'busybox:1.35');
  assert.equal(normalizeRef('docker.io/library/busybox'), 'busybox:latest');
  assert.equal(normalizeRef('index.docker.io/library/busybox:x'), 'busybox:x');
  assert.equal(normalizeRef('library/busybox'), 'busybox:latest');
  assert.equal(normalizeRef('docker.io/foo/bar'), 'foo/bar:latest');
  assert.equal(normalizeRef('localhost:5000/a/b'), 'localhost:5000/a/b:latest');
  assert.equal(normalizeRef('registry.example.com/x:1'), 'registry.example.com/x:1');
  const d = `sha256:${'a'.repeat(64)}`;
  assert.equal(normalizeRef(`busybox@${d}`), `busybox@${d}`);
  assert.deepEqual(parseRef(`docker.io/library/busybox:1@${d}`), { name: 'busybox', tag: '1', digest: d });
});

test('the fully qualified form is what containerd annotations carry', () => {
  assert.equal(fullyQualified('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(fullyQualified('foo/bar:2'), 'docker.io/foo/bar:2');
  assert.equal(fullyQualified('localhost:5000/x'), 'localhost:5000/x:latest');
});

test('malformed references are 400 errors that say why', () => {
  for (const bad of ['', 'Busybox', 'a b', 'busybox:', 'busybox@sha256:12', 'x::y', '-x', 'a/../b']) {
    assert.throws(() => normalizeRef(bad), (e: unknown) => e instanceof ImageError && e.status === 400 && /invalid reference format/.test(e.message), bad);
  }
});
