/**
 * livecap's ONNX engine against transformers.js (@huggingface/transformers), an implementation
 * of the same Hugging Face export layout that nobody here wrote. The tiny BART and ViT-GPT2
 * folders the tests write are loaded by both, from local folders only, and must give:
 *
 * - the same input: transformers.js's tokenizer gives livecap's token ids, and its image
 *   processor, reading the same preprocessor_config.json, livecap's pixel values;
 * - the same greedy tokens and log-probability, end to end through transformers.js's own
 *   `generate()` (its config reading, merged-decoder cache feeding, logits processors and
 *   stopping), with the folder's generation_config.json and with max_new_tokens,
 *   no_repeat_ngram_size and min_length overrides, forced BOS/EOS as the folder says;
 * - the same beam-search (num_beams 3) tokens and score. transformers.js 4.3's `generate()`
 *   does not search beams (it keeps the first candidate of its beam sampler, which is the
 *   greedy one; a test below pins that), so here beam search is the bookkeeping of Python
 *   transformers' current `_beam_search`, written out below, over transformers.js's decoder
 *   logits (uncached: every step reruns the whole prefix) and transformers.js's logits
 *   processors. livecap's cached decoder and its own search must reproduce it. End tokens are
 *   also taken from each model's frequent tokens, so hypotheses finish early and often and
 *   early stopping, length penalties and min_length decide the outcome.
 *
 * Each comparison reports the smallest margin between the chosen candidate and the next one,
 * so a near-tie between two correct implementations would show as such rather than as a bug.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { after, before, test } from 'node:test';
import { AutoImageProcessor, AutoModelForSeq2SeqLM, AutoModelForVision2Seq, AutoTokenizer, RawImage, Tensor } from '@huggingface/transformers';
import type { GenerationOverrides } from '../../src/models/seq2seq/generation-config.js';
import { ImageSeq2Seq } from '../../src/models/seq2seq/image-seq2seq.js';
import { TextSeq2Seq } from '../../src/models/seq2seq/text-seq2seq.js';
import { makeTinyBart, TINY_CORPUS, type TinyBart } from '../helpers/tiny-bart.js';
import { makeTinyVitGpt2, type TinyVitGpt2 } from '../helpers/tiny-vit-gpt2.js';
import { assertClose, finishingSettings, localId, oracleBeam, oracleGreedy, oracleKwargs, OracleSteps, type OracleModel } from '../helpers/transformers-oracle.js';
import type { Frame } from '../../src/core/frame.js';

const SETTINGS: GenerationOverrides[] = [{}, { maxLength: 6 }, { noRepeatNgramSize: 3, maxLength: 16 }, { noRepeatNgramSize: 0, minLength: 9, maxLength: 14 }];

const INPUTS = ['a large red star on the grass. a blue circle in the sky.', ...TINY_CORPUS.slice(1, 4)];

const made: string[] = [];
let barts: TinyBart[];
let vit: TinyVitGpt2;
before(async () => {
  barts = [await makeTinyBart(), await makeTinyBart({ seed: 21 })];
  vit = await makeTinyVitGpt2();
  made.push(...barts.map((b) => b.dir), vit.dir);
});
after(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

async function withBart<T>(bart: TinyBart, run: (ours: TextSeq2Seq, oracle: OracleModel, tokenize: (text: string) => Promise<Tensor>) => Promise<T>): Promise<T> {
  const ours = await TextSeq2Seq.open(bart.dir);
  const id = localId(bart.dir);
  const tokenizer = await AutoTokenizer.from_pretrained(id);
  const oracle = (await AutoModelForSeq2SeqLM.from_pretrained(id, { dtype: 'fp32' })) as unknown as OracleModel;
  try {
    return await run(ours, oracle, async (text) => (tokenizer(text) as { input_ids: Tensor }).input_ids);
  } finally {
    await oracle.dispose();
    await ours.release();
  }
}

test('transformers.js tokenizes as livecap does', async () => {
  await withBart(barts[0]!, async (ours, _oracle, tokenize) => {
    for (const text of [...INPUTS, 'Zebras café 42 — ünïcödé 🎥 done.']) {
      assert.deepEqual(Array.from((await tokenize(text)).data as BigInt64Array, Number), ours.encode(text), text);
    }
  });
});

/** One BART case: a tiny export, an input text, and a generation setting with `numBeams`. */
interface BartCase {
  ours: Parameters<Parameters<typeof withBart>[1]>[0];
  oracle: Parameters<Parameters<typeof withBart>[1]>[1];
  text: string;
  input_ids: Tensor;
  attention_mask: Tensor;
  o: Record<string, unknown> & { numBeams: number };
  what: string;
}

/** Runs `body` for every tiny BART, input and generation setting (those that end early included). */
async function eachBartCase(numBeams: number, body: (c: BartCase) => Promise<void>): Promise<void> {
  for (const bart of barts) {
    await withBart(bart, async (ours, oracle, tokenize) => {
      for (const text of INPUTS) {
        const input_ids = await tokenize(text);
        const attention_mask = new Tensor('int64', new BigInt64Array(input_ids.dims[1]!).fill(1n), input_ids.dims);
        const greedy = (await ours.generate(text, { numBeams: 1 })).tokens;
        for (const setting of [...SETTINGS, ...finishingSettings(greedy)]) {
          const o = { ...setting, numBeams };
          await body({ ours, oracle, text, input_ids, attention_mask, o, what: `${basename(bart.dir)} "${text}" ${JSON.stringify(o)}` });
        }
      }
    });
  }
}

test('BART: greedy tokens and log-probabilities match transformers.js generate(), for each generation setting', async (t) => {
  let least = Infinity;
  await eachBartCase(1, async ({ ours, oracle, text, input_ids, attention_mask, o, what }) => {
    const theirs = (await oracle.generate({ input_ids, attention_mask, ...oracleKwargs(o) })).tolist()[0]!.map(Number).slice(1);
    const steps = await oracleGreedy(OracleSteps.open(oracle, { input_ids, attention_mask }, oracleKwargs(o)));
    assert.deepEqual(steps.tokens, theirs, `${what}: stepping transformers.js's decoder reproduces its generate()`);
    const got = await ours.generate(text, o);
    assert.deepEqual(got.tokens, theirs, `${what}; smallest margin ${steps.margin}`);
    assertClose(got.logProbability, steps.logProbability, `${what} log-probability`);
    least = Math.min(least, steps.margin);
  });
  t.diagnostic(`smallest greedy margin: ${least}`);
});

test('BART: beam search (num_beams 3) matches Hugging Face beam search over transformers.js logits', async (t) => {
  let least = Infinity;
  let droppedEos = 0;
  let endedEarly = 0;
  let runs = 0;
  await eachBartCase(3, async ({ ours, oracle, text, input_ids, attention_mask, o, what }) => {
    const want = await oracleBeam(OracleSteps.open(oracle, { input_ids, attention_mask }, oracleKwargs(o)), 3);
    const got = await ours.generate(text, o);
    assert.deepEqual(got.tokens, want.tokens, `${what}; smallest margin ${want.margin}`);
    assertClose(got.score, want.score, `${what} score`);
    least = Math.min(least, want.margin);
    droppedEos += want.droppedEos!;
    endedEarly += want.endedEarly ? 1 : 0;
    runs++;
  });
  // The settings reach the paths that matter: hypotheses finishing early, and end tokens ranked too low to count.
  t.diagnostic(`beam searches: ${runs}, ended before max_length: ${endedEarly}, end tokens dropped for rank: ${droppedEos}, smallest margin: ${least}`);
  assert.ok(endedEarly > 0 && endedEarly < runs, `${endedEarly} of ${runs} searches ended early`);
  assert.ok(droppedEos > 0, 'no end token was ever ranked below k');
});

test('transformers.js 4.3 generate() with num_beams 3 is still greedy: the beam oracle above stands in for it', async () => {
  await withBart(barts[0]!, async (_ours, oracle, tokenize) => {
    const input_ids = await tokenize(INPUTS[0]!);
    const attention_mask = new Tensor('int64', new BigInt64Array(input_ids.dims[1]!).fill(1n), input_ids.dims);
    const greedy = (await oracle.generate({ input_ids, attention_mask, num_beams: 1 })).tolist();
    const beams = (await oracle.generate({ input_ids, attention_mask, num_beams: 3 })).tolist();
    // If this fails, transformers.js searches beams itself: compare livecap with its generate() directly.
    assert.deepEqual(beams, greedy);
  });
});

/** A 32×32 picture, the export's input size: a bright square on a dark gradient. */
function picture(): Frame {
  const width = 32;
  const height = 32;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(x > 8 && x < 20 && y > 6 && y < 22 ? [240, 200, 30] : [x * 7, 20, y * 6], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

test('ViT-GPT2: pixels, greedy and beam captions match transformers.js', async (t) => {
  const ours = await ImageSeq2Seq.open(vit.dir);
  const id = localId(vit.dir);
  const processor = await AutoImageProcessor.from_pretrained(id);
  const oracle = (await AutoModelForVision2Seq.from_pretrained(id, { dtype: 'fp32' })) as unknown as OracleModel;
  try {
    const frame = picture();
    const { pixel_values } = (await processor(new RawImage(new Uint8ClampedArray(frame.data), frame.width, frame.height, 3))) as { pixel_values: Tensor };
    const mine = ours.processor.toPixelValues(frame);
    assert.deepEqual(pixel_values.dims, [1, 3, 32, 32]);
    let worst = 0;
    mine.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (pixel_values.data as Float32Array)[i]!))));
    assert.ok(worst < 1e-5, `pixel values differ by ${worst}`);

    let least = Infinity;
    const settings: GenerationOverrides[] = [{}, { maxLength: 5 }, { noRepeatNgramSize: 2, maxLength: 20 }, { minLength: 8, maxLength: 12 }];
    settings.push(...finishingSettings((await ours.caption(frame, { numBeams: 1, maxLength: 20 })).tokens));
    for (const setting of settings) {
      const greedy = { ...setting, numBeams: 1 };
      const theirs = (await oracle.generate({ pixel_values, ...oracleKwargs(greedy) })).tolist()[0]!.map(Number).slice(1);
      const steps = await oracleGreedy(OracleSteps.open(oracle, { pixel_values }, oracleKwargs(greedy)));
      assert.deepEqual(steps.tokens, theirs, `${JSON.stringify(greedy)}: stepping transformers.js's decoder reproduces its generate()`);
      const got = await ours.caption(frame, greedy);
      assert.deepEqual(got.tokens, theirs, `${JSON.stringify(greedy)}; smallest margin ${steps.margin}`);
      assertClose(got.logProbability, steps.logProbability, `${JSON.stringify(greedy)} log-probability`);

      const beam = { ...setting, numBeams: 3 };
      const want = await oracleBeam(OracleSteps.open(oracle, { pixel_values }, oracleKwargs(beam)), 3);
      const gotBeam = await ours.caption(frame, beam);
      assert.deepEqual(gotBeam.tokens, want.tokens, `${JSON.stringify(beam)}; smallest margin ${want.margin}`);
      assertClose(gotBeam.score, want.score, `${JSON.stringify(beam)} score`);
      least = Math.min(least, steps.margin, want.margin);
    }
    t.diagnostic(`smallest margin: ${least}`);
  } finally {
    await oracle.dispose();
    await ours.release();
  }
});
