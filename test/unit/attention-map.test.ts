import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionHeatmaps, upsampleAttention } from '../../src/plot/attention-map.js';
import { decodeImage } from '../../src/media/image.js';

test('an attention map is spread over the picture with its peak at the attended cell and scaled to 1', () => {
  // A 2×3 grid attending to the bottom-right cell.
  const alpha = Float32Array.from([0, 0, 0, 0, 0.1, 0.4]);
  const map = upsampleAttention(alpha, [2, 3], 60, 40);
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  const [x, y] = [best % 60, Math.floor(best / 60)];
  assert.ok(x >= 40 && y >= 20, `peak at ${x},${y}`);
  assert.ok(Math.abs(map[best] - 1) < 1e-6);
  assert.equal(map[0], 0, 'top-left is not attended');
  assert.deepEqual(Array.from(upsampleAttention(new Float32Array(6), [2, 3], 4, 4)), new Array(16).fill(0));
});

test('the heatmap PNG has a row per frame and a tile per word after the frame', () => {
  const frame = { width: 32, height: 24, data: new Uint8Array(32 * 24 * 3).fill(200) };
  const alphas = [Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 0, 0, 1])];
  const one = decodeImage(attentionHeatmaps([{ frame, words: ['a', 'b'], alphas, grid: [2, 2] }]));
  const two = decodeImage(
    attentionHeatmaps([
      { frame, words: ['a', 'b'], alphas, grid: [2, 2] },
      { frame, words: ['a'], alphas, grid: [2, 2] },
    ]),
  );
  assert.equal(two.width, one.width, 'as wide as the longest caption: frame + 2 words');
  assert.ok(two.height > one.height + 100);
  assert.ok(one.width >= 3 * 144);
});
