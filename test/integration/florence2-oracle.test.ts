/**
 * livecap's Florence-2 captioner against transformers.js (@huggingface/transformers), whose
 * Florence2ForConditionalGeneration and Florence2Processor nobody here wrote. Tiny Florence-2
 * exports written by the tests (tiny-florence2.ts: vision encoder, token embedding, BART-style
 * encoder and merged decoder, the processor's task tables) are loaded by both from local
 * folders only, and must give:
 *
 * - the same input: the processor's prompt token ids for each task and its pixel values;
 * - the same greedy tokens and log-probability, end to end through transformers.js's own
 *   `generate()` (image features before the prompt, the encoder over both, the decoder fed
 *   through embed_tokens with its cache), and the same caption after the processor's
 *   `post_process_generation`, for each captioning task and several generation settings;
 * - the same beam-search (num_beams 3) tokens and score as Hugging Face's beam bookkeeping
 *   over transformers.js's decoder logits (transformers.js 4.3's generate() does not search
 *   beams; see transformers-oracle.test.ts and helpers/transformers-oracle.ts).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { after, before, test } from 'node:test';
import { AutoProcessor, Florence2ForConditionalGeneration, RawImage, type Tensor } from '@huggingface/transformers';
import type { GenerationOverrides } from '../../src/models/seq2seq/generation-config.js';
import { FLORENCE2_CAPTION_TASKS, Florence2 } from '../../src/models/seq2seq/florence2.js';
import { makeTinyFlorence2, type TinyFlorence2 } from '../helpers/tiny-florence2.js';
import { assertClose, finishingSettings, localId, oracleBeam, oracleGreedy, oracleKwargs, OracleSteps, type OracleModel } from '../helpers/transformers-oracle.js';
import type { Frame } from '../../src/core/frame.js';

interface OracleProcessor {
  (image: RawImage, text: string): Promise<{ input_ids: Tensor; attention_mask: Tensor; pixel_values: Tensor }>;
  batch_decode(ids: Tensor, options: { skip_special_tokens: boolean }): string[];
  post_process_generation(text: string, task: string, size: [number, number]): Record<string, unknown>;
}

/** 32×32 pictures, the tiny export's input size (so no resampling filter is compared). */
function pictures(): Frame[] {
  const make = (paint: (x: number, y: number) => [number, number, number]): Frame => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) data.set(paint(x, y), (y * 32 + x) * 3);
    return { width: 32, height: 32, data };
  };
  return [
    make((x, y) => (x > 8 && x < 20 && y > 6 && y < 22 ? [240, 200, 30] : [x * 7, 20, y * 6])),
    make((x, y) => ((x - 16) ** 2 + (y - 12) ** 2 < 40 ? [30, 60, 230] : [90, 170 - y * 2, 60])),
    make((x, y) => [(x * 37 + y * 11) % 256, (x * y) % 256, 255 - x * 8]),
  ];
}

const rawImage = (f: Frame) => new RawImage(new Uint8ClampedArray(f.data), f.width, f.height, 3);

const made: string[] = [];
let models: TinyFlorence2[];
before(async () => {
  models = [await makeTinyFlorence2(), await makeTinyFlorence2({ seed: 17 })];
  made.push(...models.map((m) => m.dir));
});
after(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

async function withFlorence<T>(tiny: TinyFlorence2, run: (ours: Florence2, oracle: OracleModel, processor: OracleProcessor) => Promise<T>): Promise<T> {
  const ours = await Florence2.open(tiny.dir);
  const id = localId(tiny.dir);
  const processor = (await AutoProcessor.from_pretrained(id)) as unknown as OracleProcessor;
  const oracle = (await Florence2ForConditionalGeneration.from_pretrained(id, { dtype: 'fp32' })) as unknown as OracleModel;
  try {
    return await run(ours, oracle, processor);
  } finally {
    await oracle.dispose();
    await ours.release();
  }
}

test('Florence-2: the prompt tokens of each task and the pixel values match transformers.js', async () => {
  await withFlorence(models[0]!, async (ours, _oracle, processor) => {
    const frame = pictures()[0]!;
    for (const task of [...FLORENCE2_CAPTION_TASKS, '<OCR>', 'What colour is the square?']) {
      const { input_ids, pixel_values } = await processor(rawImage(frame), task);
      assert.deepEqual(ours.promptIds(task), Array.from(input_ids.data as BigInt64Array, Number), task);
      assert.deepEqual(pixel_values.dims, [1, 3, 32, 32]);
      const mine = ours.processor.toPixelValues(frame);
      let worst = 0;
      mine.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (pixel_values.data as Float32Array)[i]!))));
      assert.ok(worst < 1e-5, `pixel values differ by ${worst}`);
    }
  });
});

test('Florence-2: greedy tokens, log-probabilities and captions match transformers.js generate(), per task and setting', async (t) => {
  let least = Infinity;
  let runs = 0;
  for (const tiny of models) {
    await withFlorence(tiny, async (ours, oracle, processor) => {
      for (const [i, frame] of pictures().entries()) {
        for (const task of FLORENCE2_CAPTION_TASKS) {
          const inputs = await processor(rawImage(frame), task);
          const first = await ours.caption(frame, { task, numBeams: 1 });
          const settings: GenerationOverrides[] = [{}, { maxLength: 6 }, { noRepeatNgramSize: 0, minLength: 9, maxLength: 14 }, ...finishingSettings(first.tokens).slice(0, 3)];
          for (const setting of settings) {
            const o = { ...setting, numBeams: 1 };
            const what = `${basename(tiny.dir)} picture ${i} ${task} ${JSON.stringify(o)}`;
            const generated = await oracle.generate({ ...inputs, ...oracleKwargs(o) });
            const theirs = (generated.tolist() as bigint[][])[0]!.map(Number).slice(1);
            const steps = await oracleGreedy(OracleSteps.open(oracle, { ...inputs }, oracleKwargs(o)));
            assert.deepEqual(steps.tokens, theirs, `${what}: stepping transformers.js's decoder reproduces its generate()`);
            const got = await ours.caption(frame, { ...o, task });
            assert.deepEqual(got.tokens, theirs, `${what}; smallest margin ${steps.margin}`);
            assertClose(got.logProbability, steps.logProbability, `${what} log-probability`);
            const decoded = processor.batch_decode(generated, { skip_special_tokens: false })[0]!;
            const answer = processor.post_process_generation(decoded, task, [frame.height, frame.width])[task] as string;
            assert.equal(got.text, answer.trim(), what);
            least = Math.min(least, steps.margin);
            runs++;
          }
        }
      }
    });
  }
  t.diagnostic(`greedy runs: ${runs}, smallest margin: ${least}`);
});

test('Florence-2: beam search (num_beams 3) matches Hugging Face beam search over transformers.js logits', async (t) => {
  let least = Infinity;
  let endedEarly = 0;
  let runs = 0;
  await withFlorence(models[0]!, async (ours, oracle, processor) => {
    for (const [i, frame] of pictures().slice(0, 2).entries()) {
      for (const task of ['<CAPTION>', '<MORE_DETAILED_CAPTION>']) {
        const inputs = await processor(rawImage(frame), task);
        const greedy = await ours.caption(frame, { task, numBeams: 1 });
        for (const setting of [{}, { maxLength: 8 }, ...finishingSettings(greedy.tokens).slice(0, 4)] as GenerationOverrides[]) {
          const o = { ...setting, numBeams: 3 };
          const what = `picture ${i} ${task} ${JSON.stringify(o)}`;
          const want = await oracleBeam(OracleSteps.open(oracle, { ...inputs }, oracleKwargs(o)), 3);
          const got = await ours.caption(frame, { ...o, task });
          assert.deepEqual(got.tokens, want.tokens, `${what}; smallest margin ${want.margin}`);
          assertClose(got.score, want.score, `${what} score`);
          least = Math.min(least, want.margin);
          endedEarly += want.endedEarly ? 1 : 0;
          runs++;
        }
      }
    }
  });
  t.diagnostic(`beam searches: ${runs}, ended before max_length: ${endedEarly}, smallest margin: ${least}`);
  assert.ok(endedEarly > 0, 'no beam search finished before max_length');
});
