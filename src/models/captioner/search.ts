/**
 * Caption search over a next-word model: greedy and beam search.
 *
 * The model is a function from token prefixes to log-probabilities of the next token, so the
 * search knows nothing about TensorFlow.js and is tested with hand-built tables. Repetition
 * control (repetition.ts) keeps a small model out of loops: no n-gram twice, no word more than
 * `maxRepeatRun` times in a row.
 *
 * Why not the search of seq2seq/search.ts: that one must give token for token what Hugging
 * Face's `generate()` gives for an export's generation_config (its logits processors, forced
 * BOS/EOS, its beam-finishing rule), which the oracle tests check against transformers.js; it
 * drives a stepper that keeps an ONNX key/value cache and reorders it by parent rows. This one
 * serves models of livecap's own, asks for log-probabilities of whole prefixes (the LSTM and
 * attention decoders keep their state per prefix), and bans what a small model loops on (word
 * runs, unknown-word markers). What both need, the repetition bans, is shared (repetition.ts).
 */
import { ngramRepeats, runRepeats } from '../repetition.js';

/** Log-probabilities of the next token for each prefix; each row has one entry per vocabulary index. */
export type NextTokenLogProbs = (prefixes: readonly number[][]) => Promise<ArrayLike<number>[]>;

export interface SearchOptions {
  start: number;
  end: number;
  /** Maximum tokens generated after the start token, the end token included. */
  maxLength: number;
  /** 1 is greedy search. */
  beamWidth?: number;
  /**
   * Beam hypotheses are ranked by logp / length^lengthPenalty: 0 ranks by total log-probability
   * (favouring short captions), 1 by the mean per token.
   */
  lengthPenalty?: number;
  /** Token indices never generated (padding, the start token, unknown-word markers). */
  banned?: readonly number[];
  /** No n-gram of this size occurs twice in a caption (0: no limit), as `no_repeat_ngram_size`. */
  noRepeatNgramSize?: number;
  /** No token more than this many times in a row (0: no limit). */
  maxRepeatRun?: number;
}

/** The tokens a prefix may not be continued with: the fixed bans and those that would repeat. */
function bansFor(prefix: readonly number[], fixed: ReadonlySet<number>, options: SearchOptions): ReadonlySet<number> {
  const repeats = [...ngramRepeats(prefix, options.noRepeatNgramSize ?? 0), ...runRepeats(prefix, options.maxRepeatRun ?? 0)];
  return repeats.length ? new Set([...fixed, ...repeats]) : fixed;
}

export interface Hypothesis {
  /** Generated tokens, without the start token and without the end token. */
  tokens: number[];
  logProb: number;
  /** Whether generation stopped at the end token (rather than at maxLength). */
  finished: boolean;
}

function bestToken(row: ArrayLike<number>, banned: ReadonlySet<number>): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (!banned.has(i) && row[i] > bestScore) {
      bestScore = row[i];
      best = i;
    }
  }
  return best;
}

export async function greedySearch(next: NextTokenLogProbs, options: SearchOptions): Promise<Hypothesis> {
  const banned = new Set(options.banned ?? []);
  const prefix = [options.start];
  let logProb = 0;
  for (let step = 0; step < options.maxLength; step++) {
    const [row] = await next([prefix]);
    const token = bestToken(row, bansFor(prefix, banned, options));
    logProb += row[token];
    if (token === options.end) return { tokens: prefix.slice(1), logProb, finished: true };
    prefix.push(token);
  }
  return { tokens: prefix.slice(1), logProb, finished: false };
}

function score(h: { logProb: number; length: number }, penalty: number): number {
  return h.logProb / Math.max(1, h.length) ** penalty;
}

/**
 * Beam search: keeps the `beamWidth` best prefixes at each step; a prefix that produces the
 * end token is set aside as finished. Stops when `beamWidth` hypotheses have finished (early
 * stopping) or at maxLength; the best finished hypothesis by length-penalised score wins.
 */
export async function beamSearch(next: NextTokenLogProbs, options: SearchOptions): Promise<Hypothesis> {
  const width = options.beamWidth ?? 3;
  if (width <= 1) return greedySearch(next, options);
  const penalty = options.lengthPenalty ?? 1;
  const banned = new Set(options.banned ?? []);
  let beams: { tokens: number[]; logProb: number }[] = [{ tokens: [options.start], logProb: 0 }];
  const finished: { tokens: number[]; logProb: number; length: number }[] = [];
  for (let step = 0; step < options.maxLength && beams.length > 0; step++) {
    const rows = await next(beams.map((b) => b.tokens));
    const candidates: { tokens: number[]; logProb: number; ended: boolean }[] = [];
    beams.forEach((beam, b) => {
      const row = rows[b];
      const bans = bansFor(beam.tokens, banned, options);
      // The best `width` continuations of this beam are all that can survive the cut below.
      const order = Array.from({ length: row.length }, (_, i) => i)
        .filter((i) => !bans.has(i) && Number.isFinite(row[i]))
        .sort((x, y) => row[y] - row[x] || x - y)
        .slice(0, width);
      for (const token of order) {
        candidates.push({ tokens: [...beam.tokens, token], logProb: beam.logProb + row[token], ended: token === options.end });
      }
    });
    candidates.sort((x, y) => y.logProb - x.logProb);
    beams = [];
    for (const c of candidates) {
      if (c.ended) {
        // Length counts generated tokens including the end token.
        finished.push({ tokens: c.tokens.slice(1, -1), logProb: c.logProb, length: c.tokens.length - 1 });
      } else if (beams.length < width) {
        beams.push(c);
      }
      if (beams.length >= width) break;
    }
    if (finished.length >= width) break;
  }
  const pool =
    finished.length > 0 ? finished.map((f) => ({ ...f, finished: true })) : beams.map((b) => ({ tokens: b.tokens.slice(1), logProb: b.logProb, length: b.tokens.length - 1, finished: false }));
  pool.sort((x, y) => score(y, penalty) - score(x, penalty));
  const best = pool[0];
  return { tokens: best.tokens, logProb: best.logProb, finished: best.finished };
}

export function search(next: NextTokenLogProbs, options: SearchOptions): Promise<Hypothesis> {
  return (options.beamWidth ?? 1) <= 1 ? greedySearch(next, options) : beamSearch(next, options);
}
