/**
 * Greedy and beam search over a hand-made bigram "model": the next-token distribution depends
 * only on the last token, so every expected output below is worked out by hand in its comment.
 * Tokens: 0 start, 1 end, 2 a, 3 b, 4 c.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenerationOptions } from '../../src/models/seq2seq/generation-config.js';
import { beamSearch, greedySearch, processScores, type Stepper } from '../../src/models/seq2seq/search.js';

const START = 0,
  END = 1,
  A = 2,
  B = 3,
  C = 4;
type Table = Record<number, Record<number, number>>;

/** P(next | last); tokens not listed get a tiny probability. */
function bigram(table: Table): Stepper & { calls: number } {
  const vocabSize = 5;
  let last: number[] = [];
  const stepper = {
    vocabSize,
    calls: 0,
    async step(tokens: readonly number[], parents?: readonly number[]) {
      stepper.calls++;
      if (parents) last = parents.map((p) => last[p]!);
      last = [...tokens];
      const out = new Float32Array(tokens.length * vocabSize);
      tokens.forEach((t, r) => {
        for (let v = 0; v < vocabSize; v++) out[r * vocabSize + v] = Math.log(table[t]?.[v] ?? 1e-9);
      });
      return out;
    },
  };
  return stepper;
}

const options = (o: Partial<GenerationOptions> = {}): GenerationOptions => ({
  maxLength: 10,
  minLength: 0,
  numBeams: 2,
  lengthPenalty: 1,
  noRepeatNgramSize: 0,
  earlyStopping: false,
  decoderStartTokenId: START,
  eosTokenId: END,
  padTokenId: END,
  ...o,
});

// Greedy takes a (.5) then end (.4): P = .20. Beam finds b then end: P = .4 × .9 = .36.
const GREEDY_TRAP: Table = {
  [START]: { [A]: 0.5, [B]: 0.4, [END]: 0.1 },
  [A]: { [END]: 0.4, [A]: 0.3, [B]: 0.3 },
  [B]: { [END]: 0.9, [A]: 0.05, [B]: 0.05 },
};

test('greedy search takes the locally best token each step', async () => {
  const r = await greedySearch(bigram(GREEDY_TRAP), options({ numBeams: 1 }));
  assert.deepEqual(r.tokens, [A, END]);
  assert.ok(Math.abs(r.logProbability - Math.log(0.2)) < 1e-5);
});

test('beam search finds the more probable sequence greedy misses', async () => {
  const r = await beamSearch(bigram(GREEDY_TRAP), options({ numBeams: 2 }));
  assert.deepEqual(r.tokens, [B, END]);
  assert.ok(Math.abs(r.logProbability - Math.log(0.36)) < 1e-5);
  // Score = log P / (2 generated tokens) ^ 1.
  assert.ok(Math.abs(r.score - Math.log(0.36) / 2) < 1e-5);
});

// a a (end) is likely, but a long sequence is favoured by a strong length penalty:
// start → a (.9) → end (.6) : P = .54, 2 tokens;  start → a → c (.4) → end (1): P = .36, 3 tokens.
const LENGTHS: Table = {
  [START]: { [A]: 0.9, [B]: 0.1 },
  [A]: { [END]: 0.6, [C]: 0.4 },
  [C]: { [END]: 1 },
  [B]: { [END]: 1 },
};

test('length penalty: 0 ranks by probability, a large one prefers longer outputs', async () => {
  const short = await beamSearch(bigram(LENGTHS), options({ numBeams: 2, lengthPenalty: 0, earlyStopping: true }));
  assert.deepEqual(short.tokens, [A, END]);
  // log .54 / 2^2 = -0.154 < log .36 / 3^2 = -0.1135: the three-token output wins.
  const long = await beamSearch(bigram(LENGTHS), options({ numBeams: 2, lengthPenalty: 2, earlyStopping: false, maxLength: 6 }));
  assert.deepEqual(long.tokens, [A, C, END]);
});

// After a, a is likely again: greedy would write a a a a …
const LOOP: Table = {
  [START]: { [A]: 0.9, [B]: 0.1 },
  [A]: { [A]: 0.7, [B]: 0.2, [END]: 0.1 },
  [B]: { [A]: 0.6, [B]: 0.3, [END]: 0.1 },
};

test('max_length bounds the output, the start token included', async () => {
  const r = await greedySearch(bigram(LOOP), options({ numBeams: 1, maxLength: 5 }));
  assert.deepEqual(r.tokens, [A, A, A, A]);
});

test('no_repeat_ngram_size 2: no bigram twice', async () => {
  // start a a, then "a a" exists so a is banned after a → b; after b, "b a" is new → a;
  // after a, both "a a" and "a b" exist → end (the only allowed token left with mass).
  const r = await greedySearch(bigram(LOOP), options({ numBeams: 1, noRepeatNgramSize: 2 }));
  assert.deepEqual(r.tokens, [A, A, B, A, END]);
});

test('min_length bans the end token until the output is long enough', async () => {
  const early = await greedySearch(bigram(GREEDY_TRAP), options({ numBeams: 1 }));
  assert.equal(early.tokens.length, 2);
  // min_length 4 counts the start token: end is banned at lengths 1–3, so three tokens come first.
  const r = await greedySearch(bigram(GREEDY_TRAP), options({ numBeams: 1, minLength: 4 }));
  assert.deepEqual(r.tokens, [A, A, A, END]);
});

test('forced BOS comes first and forced EOS ends a maxed-out output', async () => {
  const r = await greedySearch(bigram(LOOP), options({ numBeams: 1, forcedBosTokenId: B, forcedEosTokenId: END, maxLength: 5 }));
  assert.deepEqual(r.tokens, [B, A, A, END]);
  const beams = await beamSearch(bigram(LOOP), options({ numBeams: 2, forcedBosTokenId: B, forcedEosTokenId: END, maxLength: 5 }));
  assert.equal(beams.tokens[0], B);
  assert.equal(beams.tokens.at(-1), END);
  assert.equal(beams.tokens.length, 4);
});

test('early stopping ends beam search as soon as enough outputs are finished', async () => {
  // Both beams finish at step 2 in GREEDY_TRAP; with early stopping no third step is run.
  const s = bigram(GREEDY_TRAP);
  await beamSearch(s, options({ numBeams: 2, earlyStopping: true }));
  assert.equal(s.calls, 2);
});

test('processScores leaves scores alone when no processor applies', () => {
  const scores = Float64Array.from([-1, -2, -3, -4, -5]);
  processScores(scores, [START, A], options());
  assert.deepEqual([...scores], [-1, -2, -3, -4, -5]);
});
