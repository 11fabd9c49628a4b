/**
 * Vision-encoder-decoder captioners (ViT-GPT2 exports) through the ONNX engine: pixels are
 * prepared as preprocessor_config.json says, the exported encoder and cached decoder compute
 * what an independent ViT + GPT-2 computes, search gives the same tokens, and folders that
 * are not image captioners are refused with the reason.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageProcessor } from '../../src/models/vision/image-processor.js';
import { ImageSeq2Seq } from '../../src/models/seq2seq/image-seq2seq.js';
import { generate } from '../../src/models/seq2seq/search.js';
import { resolveGeneration } from '../../src/models/seq2seq/generation-config.js';
import { openSession } from '../../src/models/onnx/runtime.js';
import { makeTinyVitGpt2, type TinyVitGpt2 } from '../helpers/tiny-vit-gpt2.js';
import { ReferenceVitGpt2 } from '../helpers/vit-gpt2-reference.js';
import { makeTinyBart } from '../helpers/tiny-bart.js';
import type { Frame } from '../../src/core/frame.js';

let tiny: TinyVitGpt2;
before(async () => {
  tiny = await makeTinyVitGpt2();
});

/** A 48×40 picture: a bright square on a dark gradient. */
function picture(): Frame {
  const width = 48;
  const height = 40;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x > 12 && x < 30 && y > 8 && y < 26;
      data.set(inside ? [240, 200, 30] : [x * 4, 20, y * 5], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

test('pixels are rescaled, normalised per channel and laid out channels first', () => {
  const p = imageProcessor({ do_resize: false, size: { height: 1, width: 2 }, image_mean: [0.4, 0.5, 0.6], image_std: [0.2, 0.25, 0.3] }, 'x');
  const got = p.toPixelValues({ width: 2, height: 1, data: Uint8Array.of(255, 0, 51, 0, 255, 255) });
  const want = [(1 - 0.4) / 0.2, (0 - 0.4) / 0.2, (0 - 0.5) / 0.25, (1 - 0.5) / 0.25, (0.2 - 0.6) / 0.3, (1 - 0.6) / 0.3];
  want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-6, `value ${i}: ${got[i]} vs ${v}`));

  const resized = imageProcessor({ size: 224 }, 'x');
  assert.deepEqual([resized.width, resized.height], [224, 224]);
  assert.equal(resized.toPixelValues(picture()).length, 3 * 224 * 224);
  const cropped = imageProcessor({ size: { shortest_edge: 20 }, do_center_crop: true, crop_size: { height: 16, width: 16 } }, 'x');
  assert.equal(cropped.toPixelValues(picture()).length, 3 * 16 * 16);

  assert.throws(() => imageProcessor({ image_std: [0.5, 0, 0.5] }, 'm/preprocessor_config.json'), /m\/preprocessor_config\.json: image_std must not be 0/);
  assert.throws(() => imageProcessor({ image_mean: [0.5, 0.5] }, 'm/p.json'), /image_mean must be three numbers/);
  assert.throws(() => imageProcessor({ size: { shortest_edge: 224 } }, 'm/p.json'), /shortest_edge\} without do_center_crop/);
  assert.throws(() => imageProcessor({ size: -3 }, 'm/p.json'), /size must be a positive number, got -3/);
});

test('the exported ViT encoder computes what the reference ViT computes', async () => {
  const model = await ImageSeq2Seq.open(tiny.dir);
  const session = await openSession(join(tiny.dir, 'onnx', 'encoder_model.onnx'));
  try {
    const pixels = model.processor.toPixelValues(picture());
    const s = tiny.config.imageSize;
    const out = await session.run({ pixel_values: { type: 'float32', data: pixels, dims: [1, 3, s, s] } });
    const expected = new ReferenceVitGpt2(tiny.config, tiny.weights).encode(pixels);
    const got = out.last_hidden_state!.data as Float32Array;
    assert.deepEqual(out.last_hidden_state!.dims, [1, expected.length, tiny.config.hidden]);
    let worst = 0;
    expected.forEach((row, t) => row.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - got[t * tiny.config.hidden + i]!)))));
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
  } finally {
    await session.release();
    await model.release();
  }
});

test('greedy and beam captions match the reference ViT-GPT2, with the cached decoder', async () => {
  const model = await ImageSeq2Seq.open(tiny.dir);
  try {
    const frame = picture();
    const pixels = model.processor.toPixelValues(frame);
    const reference = new ReferenceVitGpt2(tiny.config, tiny.weights);
    const options = resolveGeneration({ decoder_start_token_id: 0, eos_token_id: 0, max_length: 10 }, {}, {}, 'reference');
    for (const numBeams of [1, 3]) {
      const got = await model.caption(frame, { numBeams });
      const want = await generate(reference.stepper(pixels, numBeams), { ...options, numBeams });
      assert.deepEqual(got.tokens, want.tokens, `num_beams ${numBeams}`);
      assert.ok(got.tokens.length > 1);
      assert.equal(typeof got.text, 'string');
    }
    assert.equal(model.provider, 'cpu');
  } finally {
    await model.release();
  }
});

test('folders that are not image captioners are refused with the reason', async () => {
  const bart = await makeTinyBart();
  await assert.rejects(ImageSeq2Seq.open(bart.dir), /missing preprocessor_config\.json/);
  await writeFile(join(bart.dir, 'preprocessor_config.json'), '{"size": 32}');
  await assert.rejects(ImageSeq2Seq.open(bart.dir), /encoder_model\.onnx: not a vision encoder: it lacks input 'pixel_values' \(its inputs: input_ids, attention_mask\)/);
  const other = await makeTinyVitGpt2({ seed: 3 });
  await rm(join(other.dir, 'onnx', 'encoder_model.onnx'));
  await assert.rejects(ImageSeq2Seq.open(other.dir), /is not a complete ONNX export: missing onnx\/encoder_model\.onnx/);
});
