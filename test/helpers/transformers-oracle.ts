/**
 * The transformers.js side of the oracle tests (transformers-oracle.test.ts,
 * florence2-oracle.test.ts): loading tiny local exports with nothing fetched, stepping
 * transformers.js's decoder over whole prefixes with its own logits processors, and Hugging
 * Face's greedy and beam-search bookkeeping over those steps, so livecap's cached decoder and
 * search can be compared with an implementation nobody here wrote.
 */
import assert from 'node:assert/strict';
import { basename, dirname } from 'node:path';
import { Tensor, env } from '@huggingface/transformers';
import type { GenerationOverrides } from '../../src/models/seq2seq/generation-config.js';

// Local folders only: nothing is fetched and nothing is cached.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useFSCache = false;
env.useBrowserCache = false;

/** The parts of a transformers.js model these tests use, some of them internal to generate(). */
export interface OracleModel {
  (inputs: Record<string, unknown>): Promise<{ logits: Tensor }>;
  generate(inputs: Record<string, unknown>): Promise<Tensor>;
  _prepare_generation_config(config: null, kwargs: Record<string, unknown>): OracleGenerationConfig;
  _get_logits_processor(config: OracleGenerationConfig, inputLength: number): (ids: bigint[][], scores: Tensor) => Tensor;
  sessions: Record<string, { inputNames: string[] }>;
  dispose(): Promise<unknown>;
}

export interface OracleGenerationConfig {
  max_length: number;
  max_new_tokens: number | null;
  num_beams: number;
  length_penalty: number;
  early_stopping: boolean | 'never';
  decoder_start_token_id: number;
  eos_token_id: number | number[];
}

/** transformers.js loads a local model by its folder name under env.localModelPath. */
export function localId(dir: string): string {
  env.localModelPath = dirname(dir);
  return basename(dir);
}

export interface Searched {
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
export class OracleSteps {
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
    const processed = this.processors(
      rows.map((r) => r.map(BigInt)),
      new Tensor('float32', stacked, [rows.length, out[0]!.length]),
    );
    const data = processed.data as Float32Array;
    return out.map((r, i) => data.subarray(i * r.length, (i + 1) * r.length));
  }
}

/** Greedy over OracleSteps: used for its log-probability and margins, the tokens come from generate(). */
export async function oracleGreedy(steps: OracleSteps): Promise<Searched> {
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
export async function oracleBeam(steps: OracleSteps, k: number): Promise<Searched> {
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

export function assertClose(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) < 1e-4, `${what}: livecap ${got}, transformers.js ${want}`);
}

/** transformers.js's generation keywords for livecap's overrides (max_length counts the start token in both). */
export function oracleKwargs(o: GenerationOverrides): Record<string, unknown> {
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
export function finishingSettings(greedy: readonly number[]): GenerationOverrides[] {
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
