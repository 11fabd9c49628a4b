import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeImage, encodeJpeg, encodePng, resizeFrame } from '../../src/media/image.js';

const frame = { width: 4, height: 2, data: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256) };

test('PNG round-trips exactly and JPEG closely', () => {
  assert.deepEqual(decodeImage(encodePng(frame)), frame);
  const jpeg = decodeImage(encodeJpeg({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(120) }, 95));
  assert.equal(jpeg.width, 16);
  assert.ok(jpeg.data.every((v) => Math.abs(v - 120) <= 2));
});

test('bytes that are not an image get an error naming the input', () => {
  assert.throws(() => decodeImage(new TextEncoder().encode('hello world'), 'notes.txt'), /notes\.txt: not a JPEG or PNG image/);
  assert.throws(() => decodeImage(Uint8Array.from([0xff, 0xd8, 0xff, 0, 1, 2]), 'broken.jpg'), /broken\.jpg: not a readable JPEG/);
});

test('area resize averages exactly what each output pixel covers', () => {
  const small = resizeFrame(frame, 2, 1);
  // Output pixel 0 covers input columns 0–1 of both rows.
  for (let c = 0; c < 3; c++) {
    const expected = Math.round((frame.data[c] + frame.data[3 + c] + frame.data[12 + c] + frame.data[15 + c]) / 4);
    assert.equal(small.data[c], expected);
  }
  assert.equal(resizeFrame(frame, 4, 2), frame);
});
