import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildImages, buildImagesOf } from '../../../worker/engine/build/build-images.js';
import type { ContainerImages } from '../../../worker/engine/container/types.js';

const store: ContainerImages = {
  resolve: (r) => (r === 'busybox' ? { id: 'sha256:base', config: {} } : undefined),
  lowerDirs: (id) => (id === 'sha256:base' ? ['/layers/base'] : []),
};

test('the container manager sees the store first, then the intermediate images of running builds', () => {
  const b = new BuildImages();
  const view = b.overlay(store);
  assert.equal(view.resolve('sha256:step'), undefined);
  b.add({ id: 'sha256:step', config: { config: { Env: ['A=1'] } }, lowerDirs: ['/build/l2', '/layers/base'] });
  assert.equal(view.resolve('busybox')?.id, 'sha256:base');
  assert.equal(view.resolve('sha256:step')?.id, 'sha256:step');
  assert.deepEqual(view.lowerDirs('sha256:step'), ['/build/l2', '/layers/base']);
  assert.deepEqual(view.lowerDirs('sha256:base'), ['/layers/base']);
});

test('two builds holding the same intermediate image: it stays until both let go', () => {
  const b = new BuildImages();
  const img = { id: 'sha256:same', config: {}, lowerDirs: ['/x'] };
  b.add(img);
  b.add(img);
  b.delete('sha256:same');
  assert.ok(b.get('sha256:same'), 'still held by the other build');
  b.delete('sha256:same');
  assert.equal(b.get('sha256:same'), undefined);
});

test('one registry per image store', () => {
  const a = {};
  assert.equal(buildImagesOf(a), buildImagesOf(a));
  assert.notEqual(buildImagesOf(a), buildImagesOf({}));
});
