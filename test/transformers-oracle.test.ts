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
import { basename, dirname } from 'node:path';
import { after, before, test } from 'node:test';
import {
  AutoImageProcessor,
  AutoModelForSeq2SeqLM,
  AutoModelForVision2Seq,
  AutoTokenizer,
  RawImage,
  Tensor,
  env,
} from '@huggingface/transformers';
import type { GenerationOverrides } from '../src/models/seq2seq/generation-config.js';
import { ImageSeq2Seq } from '../src/models/seq2seq/image-seq2seq.js';
import { TextSeq2Seq } from '../src/models/seq2seq/text-seq2seq.js';
import type { Frame } from '../src/media/image.js';
import { makeTinyBart, TINY_CORPUS, type TinyBart } from './helpers/tiny-bart.js';
import { makeTinyVitGpt2, type TinyVitGpt2 } from './helpers/tiny-vit-gpt2.js';

// Local folders only: nothing is fetched and nothing is cached.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useFSCache = false;
env.useBrowserCache = false;

/** The parts of a transformers.js model these tests use, some of them internal to generate(). */
interface OracleModel {
  (inputs: Record<string, unknown>): Promise<{ logits: Tensor }>;
  generate(inputs: Record<string, unknown>): Promise<Tensor>;
  _prepare_generation_config(config: null, kwargs: Record<string, unknown>): OracleGenerationConfig;
  _get_logits_processor(config: OracleGenerationConfig, inputLength: number): (ids: bigint[][], scores: Tensor) => Tensor;
  sessions: Record<string, { inputNames: string[] }>;
  dispose(): Promise<unknown>;
}

interface OracleGenerationConfig {
  max_length: number;
  max_new_tokens: number | null;
  num_beams: number;
  length_penalty: number;
  early_stopping: boolean | 'never';
  decoder_start_token_id: number;
  eos_token_id: number | number[];
}

/** transformers.js loads a local model by its folder name under env.localModelPath. */
function localId(dir: string): string {
  env.localModelPath = dirname(dir);
  return basename(dir);
}

interface Searched {
  /** Generated tokens, decoder start excluded. */
  tokens: number[];
  logProbability: number;
  score: number;
  /** The smallest gap between a chosen candidate and the best one left out. */
  margin: number;
  /** Beam search only: end-of-sequence candidates among the best 2·k but ranked below k, and whether the search ended before max_length. */
  droppedEos?: number;
  endedEarly?: boolean;
}

function logSoftmax(logits: Float32Array, start: number, vocab: number): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[start + i]!);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[start + i]! - max);
  const logSum = max + Math.log(sum);
  return Float32Array.from({ length: vocab }, (_, i) => logits[start + i]! - logSum);
}

/**
 * Drives transformers.js's decoder with the whole prefix of each row (no cache) and returns
 * each row's log-probabilities after transformers.js's logits processors, applied to
 * log-probabilities as Hugging Face's search applies them.
 */
class OracleSteps {
  private constructor(
    private readonly model: OracleModel,
    private readonly inputs: Record<string, unknown>,
    readonly config: OracleGenerationConfig,
    private readonly processors: (ids: bigint[][], scores: Tensor) => Tensor,
  ) {}

  static open(model: OracleModel, inputs: Record<string, unknown>, overrides: Record<string, unknown>): OracleSteps {
    const config = model._prepare_generation_config(null, overrides);
    if (config.max_new_tokens !== null) config.max_length = 1 + config.max_new_tokens;
    return new OracleSteps(model, inputs, config, model._get_logits_processor(config, 1));
  }

  get eos(): number {
    const e = this.config.eos_token_id;
    return Array.isArray(e) ? e[0]! : e;
  }

  async scores(rows: number[][]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const row of rows) {
      const ids = new Tensor('int64', BigInt64Array.from(row, BigInt), [1, row.length]);
      const mask = new Tensor('int64', new BigInt64Array(row.length).fill(1n), [1, row.length]);
      const { logits } = await this.model({ ...this.inputs, decoder_input_ids: ids, decoder_attention_mask: mask });
      const vocab = logits.dims.at(-1)!;
      out.push(logSoftmax(logits.data as Float32Array, (row.length - 1) * vocab, vocab));
    }
    const stacked = new Float32Array(out.length * out[0]!.length);
    out.forEach((r, i) => stacked.set(r, i * r.length));
    const processed = this.processors(rows.map((r) => r.map(BigInt)), new Tensor('float32', stacked, [rows.length, out[0]!.length]));
    const data = processed.data as Float32Array;
    return out.map((r, i) => data.subarray(i * r.length, (i + 1) * r.length));
  }
}

/** Greedy over OracleSteps: used for its log-probability and margins, the tokens come from generate(). */
async function oracleGreedy(steps: OracleSteps): Promise<Searched> {
  const seq = [steps.config.decoder_start_token_id];
  let logProbability = 0;
  let margin = Infinity;
  while (seq.length < steps.config.max_length) {
    const [s] = await steps.scores([seq]);
    const order = [...s!.keys()].sort((a, b) => s![b]! - s![a]! || a - b);
    const best = order[0]!;
    if (s![order[1]!]! > -Infinity) margin = Math.min(margin, s![best]! - s![order[1]!]!);
    logProbability += s![best]!;
    seq.push(best);
    if (best === steps.eos) break;
  }
  const tokens = seq.slice(1);
  return { tokens, logProbability, score: logProbability / tokens.length ** steps.config.length_penalty, margin };
}

/**
 * Hugging Face's beam search for one input, as transformers' current `_beam_search` does it
 * (the vectorised rewrite that replaced BeamSearchScorer): running beams start at 0, -1e9, …;
 * each step keeps the best 2·k candidates over all beams. A candidate "hits a stopping
 * criterion" when it is end-of-sequence or reaches max_length; the next k running beams are
 * the best candidates that did not. Hitting candidates ranked within the top k become finished
 * hypotheses scored sum / generated^length_penalty (generated counts the new token, not the
 * start token), and the best k hypotheses are kept. Then, with k hypotheses, early_stopping true
 * ends the search, and either way it ends once the best running beam, normalised at the
 * current length, no longer beats the worst hypothesis; it also ends when every candidate hit.
 */
async function oracleBeam(steps: OracleSteps, k: number): Promise<Searched> {
  const { max_length: maxLength, length_penalty: lp, early_stopping: earlyStopping } = steps.config;
  if (earlyStopping === 'never') throw new Error('early_stopping "never" is not covered here');
  let finished: { score: number; sum: number; seq: number[] }[] = [];
  let running = Array.from({ length: k }, () => [steps.config.decoder_start_token_id]);
  let runningScores: number[] = Array.from({ length: k }, (_, i) => (i === 0 ? 0 : -1e9));
  let improvable = true;
  let margin = Infinity;
  let droppedEos = 0;
  let endedEarly = false;
  while (true) {
    const rows = await steps.scores(running);
    const vocab = rows[0]!.length;
    const all: { score: number; row: number; token: number }[] = [];
    rows.forEach((r, row) => r.forEach((v, token) => all.push({ score: v + runningScores[row]!, row, token })));
    all.sort((a, b) => b.score - a.score || a.row * vocab + a.token - (b.row * vocab + b.token));
    const top = all.slice(0, 2 * k);
    if (all[2 * k] && all[2 * k]!.score > -1e8) margin = Math.min(margin, top.at(-1)!.score - all[2 * k]!.score);
    const newLen = running[0]!.length + 1;
    const hits = top.map((c) => c.token === steps.eos || newLen >= maxLength);
    top.forEach((c, rank) => rank >= k && c.token === steps.eos && c.score > -1e8 && droppedEos++);
    const next = top
      .map((c, rank) => ({ seq: [...running[c.row]!, c.token], score: c.score + (hits[rank] ? -1e9 : 0), rank }))
      .sort((a, b) => b.score - a.score || a.rank - b.rank)
      .slice(0, k);
    if (improvable && !(finished.length >= k && earlyStopping === true)) {
      top.forEach((c, rank) => {
        if (rank < k && hits[rank]) finished.push({ seq: [...running[c.row]!, c.token], sum: c.score, score: c.score / (newLen - 1) ** lp });
      });
      finished = finished.sort((a, b) => b.score - a.score).slice(0, k);
    }
    running = next.map((n) => n.seq);
    runningScores = next.map((n) => n.score);
    if (finished.length >= k) improvable &&= runningScores[0]! / (newLen - 1) ** lp > finished.at(-1)!.score;
    const open = !(finished.length >= k && earlyStopping === true);
    if (!(improvable && open && !hits.every(Boolean))) {
      endedEarly = newLen < maxLength;
      break;
    }
  }
  const best = finished[0]!;
  return { tokens: best.seq.slice(1), logProbability: best.sum, score: best.score, margin, droppedEos, endedEarly };
}

function assertClose(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) < 1e-4, `${what}: livecap ${got}, transformers.js ${want}`);
}

/** transformers.js's generation keywords for livecap's overrides (max_length counts the start token in both). */
function oracleKwargs(o: GenerationOverrides): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.numBeams !== undefined) out.num_beams = o.numBeams;
  if (o.maxLength !== undefined) out.max_new_tokens = o.maxLength - 1;
  if (o.noRepeatNgramSize !== undefined) out.no_repeat_ngram_size = o.noRepeatNgramSize;
  if (o.minLength !== undefined) out.min_length = o.minLength;
  if (o.eosTokenId !== undefined) out.eos_token_id = o.eosTokenId;
  if (o.earlyStopping !== undefined) out.early_stopping = o.earlyStopping;
  if (o.lengthPenalty !== undefined) out.length_penalty = o.lengthPenalty;
  return out;
}

/**
 * Random tiny models seldom say end-of-sequence, so most beams would run to max_length. Taking
 * the tokens the greedy output repeats most as the end token finishes hypotheses early and
 * often, which exercises what beam search does with them: ranks, early stopping both ways, and
 * length penalties above and below 1.
 */
function finishingSettings(greedy: readonly number[]): GenerationOverrides[] {
  const counts = new Map<number, number>();
  for (const t of greedy.slice(1, -1)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const byCount = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([t]) => t);
  return byCount.slice(0, 2).flatMap((eosTokenId) => [
    { eosTokenId, earlyStopping: true, maxLength: 14 },
    { eosTokenId, earlyStopping: true, lengthPenalty: 2, maxLength: 14 },
    { eosTokenId, earlyStopping: false, maxLength: 14 },
    { eosTokenId, earlyStopping: false, lengthPenalty: 2, maxLength: 14 },
    { eosTokenId, earlyStopping: false, lengthPenalty: 0.5, noRepeatNgramSize: 0, maxLength: 14 },
    { eosTokenId, minLength: 4, maxLength: 14 },
    { eosTokenId, minLength: 6, noRepeatNgramSize: 0, maxLength: 14 },
  ]);
}

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
