import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beamSearch, greedySearch, type NextTokenLogProbs } from '../../src/models/captioner/search.js';
import { TABLE } from '../helpers/tiny-captioner.js';

// The bigram table of the tiny captioner: 0 pad, 1 start, 2 end, 3 "a", 4 "b".
const bigram: NextTokenLogProbs = async (prefixes) => prefixes.map((p) => TABLE[p[p.length - 1]].map(Math.log));
const base = { start: 1, end: 2, maxLength: 4, banned: [0, 1] };

test('greedy search follows the most likely word and stops at maxLength without an end token', async () => {
  const h = await greedySearch(bigram, base);
  assert.deepEqual(h.tokens, [3, 3, 3, 3]);
  assert.equal(h.finished, false);
  assert.ok(Math.abs(h.logProb - (Math.log(0.6) + 3 * Math.log(0.5))) < 1e-4);
});

test('beam search finds the likelier finished caption that greedy misses', async () => {
  const h = await beamSearch(bigram, { ...base, beamWidth: 2 });
  // "b end": .4 × .9 = .36 beats "a end": .6 × .4 = .24; both finish at step 2.
  assert.deepEqual(h.tokens, [4]);
  assert.equal(h.finished, true);
  assert.ok(Math.abs(h.logProb - Math.log(0.36)) < 1e-4);
});

test('beam width 1 is greedy search', async () => {
  assert.deepEqual((await beamSearch(bigram, { ...base, beamWidth: 1 })).tokens, [3, 3, 3, 3]);
});

test('greedy search stops at the end token', async () => {
  const endsEarly: NextTokenLogProbs = async (prefixes) => prefixes.map((p) => (p.length < 3 ? [-9, -9, -5, -0.1, -9] : [-9, -9, -0.1, -5, -9]));
  const h = await greedySearch(endsEarly, { ...base, maxLength: 10 });
  assert.deepEqual(h.tokens, [3, 3]);
  assert.equal(h.finished, true);
});

test('banned tokens are never generated, even when most likely', async () => {
  const likesPad: NextTokenLogProbs = async (prefixes) => prefixes.map(() => [-0.01, -0.02, -3, -4, -5]);
  const g = await greedySearch(likesPad, base);
  assert.deepEqual(g.tokens, []);
  const b = await beamSearch(likesPad, { ...base, beamWidth: 3 });
  assert.deepEqual(b.tokens, []);
});

test('length penalty 1 ranks by mean log-probability per token, 0 by the total', async () => {
  // Finished hypotheses: "a" = .5 × .5 = .25 over 2 tokens (mean .5);
  // "b a" = .5 × .4 × .9 = .18 over 3 tokens (mean .565).
  const table: Record<string, number[]> = {
    '1': [-99, -99, -99, Math.log(0.5), Math.log(0.5)],
    '1,3': [-99, -99, Math.log(0.5), Math.log(0.25), Math.log(0.25)],
    '1,4': [-99, -99, Math.log(0.02), Math.log(0.4), Math.log(0.01)],
    '1,4,3': [-99, -99, Math.log(0.9), Math.log(0.05), Math.log(0.05)],
  };
  const next: NextTokenLogProbs = async (prefixes) => prefixes.map((p) => table[p.join(',')] ?? [-99, -99, 0, -99, -99]);
  assert.deepEqual((await beamSearch(next, { ...base, beamWidth: 2, lengthPenalty: 1 })).tokens, [4, 3]);
  assert.deepEqual((await beamSearch(next, { ...base, beamWidth: 2, lengthPenalty: 0 })).tokens, [3]);
});

// A model stuck in a loop: after "a" it wants "b", after "b" it wants "a", and it never ends.
const loops: NextTokenLogProbs = async (prefixes) => prefixes.map((p) => (p[p.length - 1] === 3 ? [-9, -9, -6, -3, -0.1] : [-9, -9, -5, -0.1, -3]));
/** Whether any n-gram occurs twice, or a token more than twice in a row. */
const repeats = (tokens: number[]) => {
  const trigrams = tokens.slice(2).map((_, i) => tokens.slice(i, i + 3).join(' '));
  const bigrams = tokens.slice(1).map((_, i) => tokens.slice(i, i + 2).join(' '));
  return {
    bigramTwice: new Set(bigrams).size < bigrams.length,
    trigramTwice: new Set(trigrams).size < trigrams.length,
    run3: tokens.some((t, i) => i >= 2 && tokens[i - 1] === t && tokens[i - 2] === t),
  };
};

test('repetition control: no n-gram twice and no word three times in a row, in greedy and beam search', async () => {
  const long = { ...base, maxLength: 8 };
  assert.ok(repeats((await greedySearch(loops, long)).tokens).bigramTwice, 'without control the loop shows');
  assert.ok(repeats((await greedySearch(bigram, long)).tokens).run3, 'without control "a a a" shows');
  for (const beamWidth of [1, 3]) {
    const search = (next: NextTokenLogProbs, o: object) => (beamWidth === 1 ? greedySearch(next, { ...long, ...o }) : beamSearch(next, { ...long, beamWidth, ...o }));
    const noBigram = (await search(loops, { noRepeatNgramSize: 2 })).tokens;
    assert.equal(repeats(noBigram).bigramTwice, false, `beam ${beamWidth}: ${noBigram}`);
    const noRun = (await search(bigram, { maxRepeatRun: 2 })).tokens;
    assert.equal(repeats(noRun).run3, false, `beam ${beamWidth}: ${noRun}`);
  }
  // The loop is broken by the next best word: after "a b a", "b" would repeat "a b"; then "a a" is used up and the caption ends.
  const broken = await greedySearch(loops, { ...long, noRepeatNgramSize: 2 });
  assert.deepEqual(broken.tokens, [3, 4, 3, 3]);
  assert.equal(broken.finished, true);
});
