import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, StdcopyDecoder, StdcopyFormatError } from '../../../worker/engine/api/stdcopy.js';

test('a frame is an 8-byte header (stream, 0,0,0, big-endian length) and the payload', () => {
  const f = encodeFrame('stderr', Buffer.from('hi\n'));
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 3]);
  assert.equal(f.subarray(8).toString(), 'hi\n');
  assert.equal(encodeFrame('stdout', Buffer.alloc(0)).length, 0);
});

test('decoding gives back every frame whatever the chunk boundaries', () => {
  const frames = [
    { stream: 'stdout' as const, data: Buffer.from('hello') },
    { stream: 'stderr' as const, data: Buffer.alloc(70_000, 7) },
    { stream: 'stdout' as const, data: Buffer.from('x') },
  ];
  const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.data)));
  for (const step of [1, 3, 8, 9, 4096, wire.length]) {
    const d = new StdcopyDecoder();
    const got = [];
    for (let i = 0; i < wire.length; i += step) got.push(...d.push(wire.subarray(i, i + step)));
    assert.equal(d.pending(), 0, `step ${step}`);
    assert.deepEqual(
      got.map((f) => [f.stream, f.data.toString('hex')]),
      frames.map((f) => [f.stream, f.data.toString('hex')]),
      `step ${step}`,
    );
  }
});

test('a header with a bad stream byte or padding is refused', () => {
  assert.throws(() => new StdcopyDecoder().push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 65])), StdcopyFormatError);
  assert.throws(() => new StdcopyDecoder().push(Buffer.from([1, 1, 0, 0, 0, 0, 0, 1, 65])), StdcopyFormatError);
});
