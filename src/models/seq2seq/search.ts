/**
 * Greedy and beam search for encoder-decoder models, independent of the runtime: the model is
 * a `Stepper` that, given one new token per row (and which old row each new row continues),
 * returns the next-token logits of every row. The stepper owns any key/value cache.
 *
 * Scores are log-probabilities after the logits processors Hugging Face applies for the same
 * generation_config: forced BOS as the first generated token, EOS banned below min_length,
 * forced EOS at max_length, no repeated n-grams. A finished beam's score is its summed
 * log-probability divided by (generated tokens ^ length_penalty), where the count leaves out
 * the decoder start token and includes EOS.
 */
import type { GenerationOptions } from './generation-config.js';
import { ngramRepeats } from '../repetition.js';

export interface Stepper {
  /**
   * Feeds one token per row and returns the logits for the next token, rows × vocabulary.
   * `parents[r]` is the row that new row r continues (beam reordering); absent means r → r.
   */
  step(tokens: readonly number[], parents?: readonly number[]): Promise<Float32Array>;
  readonly vocabSize: number;
}

export interface Generated {
  /** The generated tokens, decoder start token excluded (EOS included if reached). */
  tokens: number[];
  /** Summed log-probability over the generated tokens (after the logits processors). */
  logProbability: number;
  /** The length-normalised score beam search ranked by. */
  score: number;
}

function logSoftmaxRow(logits: Float32Array, row: number, vocab: number): Float64Array {
  const out = new Float64Array(vocab);
  const base = row * vocab;
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[base + i]!);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[base + i]! - max);
  const logSum = max + Math.log(sum);
  for (let i = 0; i < vocab; i++) out[i] = logits[base + i]! - logSum;
  return out;
}

/**
 * Applies the processors in place to one row's scores. `sequence` is the row's tokens so far,
 * the decoder start token included, so its length is Hugging Face's `cur_len`.
 */
export function processScores(scores: Float64Array, sequence: readonly number[], o: GenerationOptions): void {
  const curLen = sequence.length;
  // A forced token gets probability 1 (log 0), as in Hugging Face's forced-token processors.
  const only = (token: number) => {
    scores.fill(-Infinity);
    scores[token] = 0;
  };
  if (curLen < o.minLength) scores[o.eosTokenId] = -Infinity;
  for (const token of ngramRepeats(sequence, o.noRepeatNgramSize)) scores[token] = -Infinity;
  if (curLen === 1 && o.forcedBosTokenId !== undefined) only(o.forcedBosTokenId);
  if (curLen === o.maxLength - 1 && o.forcedEosTokenId !== undefined) only(o.forcedEosTokenId);
}

export async function greedySearch(stepper: Stepper, o: GenerationOptions): Promise<Generated> {
  const sequence = [o.decoderStartTokenId];
  let logProbability = 0;
  while (sequence.length < o.maxLength) {
    const logits = await stepper.step([sequence.at(-1)!]);
    const scores = logSoftmaxRow(logits, 0, stepper.vocabSize);
    processScores(scores, sequence, o);
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
    logProbability += scores[best]!;
    sequence.push(best);
    if (best === o.eosTokenId) break;
  }
  const tokens = sequence.slice(1);
  return { tokens, logProbability, score: logProbability / tokens.length ** o.lengthPenalty };
}

interface Beam {
  sequence: number[];
  logProbability: number;
}

/** The best `size` finished hypotheses, ranked by normalised score. */
class Finished {
  readonly items: Generated[] = [];
  constructor(
    private readonly size: number,
    private readonly lengthPenalty: number,
  ) {}

  add(sequence: number[], logProbability: number): void {
    const tokens = sequence.slice(1);
    const score = logProbability / tokens.length ** this.lengthPenalty;
    if (this.items.length >= this.size && score <= this.worst) return;
    this.items.push({ tokens, logProbability, score });
    this.items.sort((a, b) => b.score - a.score);
    if (this.items.length > this.size) this.items.pop();
  }

  get worst(): number {
    return this.items.length ? this.items.at(-1)!.score : -Infinity;
  }
}

export async function beamSearch(stepper: Stepper, o: GenerationOptions): Promise<Generated> {
  const k = o.numBeams;
  const vocab = stepper.vocabSize;
  const finished = new Finished(k, o.lengthPenalty);
  // Every row starts from the start token; only row 0 may expand at first, so the k beams differ.
  let beams: Beam[] = Array.from({ length: k }, (_, i) => ({ sequence: [o.decoderStartTokenId], logProbability: i === 0 ? 0 : -Infinity }));
  let tokens = beams.map((b) => b.sequence[0]!);
  let parents: number[] | undefined;
  while (true) {
    const logits = await stepper.step(tokens, parents);
    const candidates: { row: number; token: number; logProbability: number }[] = [];
    for (let row = 0; row < k; row++) {
      const beam = beams[row]!;
      if (beam.logProbability === -Infinity) continue;
      const scores = logSoftmaxRow(logits, row, vocab);
      processScores(scores, beam.sequence, o);
      // Only the top 2k of a row can be among the top 2k overall.
      const top = topIndices(scores, 2 * k);
      for (const token of top) if (scores[token]! > -Infinity) candidates.push({ row, token, logProbability: beam.logProbability + scores[token]! });
    }
    candidates.sort((a, b) => b.logProbability - a.logProbability || a.row - b.row || a.token - b.token);
    const next: Beam[] = [];
    const nextParents: number[] = [];
    for (const [rank, c] of candidates.slice(0, 2 * k).entries()) {
      const sequence = [...beams[c.row]!.sequence, c.token];
      if (c.token === o.eosTokenId) {
        // As in Hugging Face: an EOS outside the top k does not finish a hypothesis.
        if (rank < k) finished.add(sequence, c.logProbability);
      } else {
        next.push({ sequence, logProbability: c.logProbability });
        nextParents.push(c.row);
      }
      if (next.length === k) break;
    }
    const curLen = beams[0]!.sequence.length + 1;
    if (next.length === 0 || curLen >= o.maxLength) {
      for (const b of next) finished.add(b.sequence, b.logProbability);
      break;
    }
    if (finished.items.length >= k) {
      if (o.earlyStopping) break;
      // Hugging Face's heuristic: stop when the best running beam, normalised at the current
      // length, cannot beat the worst finished hypothesis.
      const bestRunning = next[0]!.logProbability / (curLen - 1) ** o.lengthPenalty;
      if (finished.worst >= bestRunning) break;
    }
    while (next.length < k) {
      next.push({ sequence: next[0]!.sequence, logProbability: -Infinity });
      nextParents.push(nextParents[0]!);
    }
    beams = next;
    parents = nextParents;
    tokens = beams.map((b) => b.sequence.at(-1)!);
  }
  const best = finished.items[0];
  if (!best) throw new Error('beam search finished without a hypothesis');
  return best;
}

function topIndices(scores: Float64Array, n: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (top.length < n) {
      top.push(i);
      top.sort((a, b) => scores[b]! - scores[a]! || a - b);
    } else if (s > scores[top[n - 1]!]!) {
      top[n - 1] = i;
      top.sort((a, b) => scores[b]! - scores[a]! || a - b);
    }
  }
  return top;
}

/** Greedy when `numBeams` is 1, beam search otherwise. */
export function generate(stepper: Stepper, o: GenerationOptions): Promise<Generated> {
  return o.numBeams > 1 ? beamSearch(stepper, o) : greedySearch(stepper, o);
}
