import { test } from 'node:test';
import assert from 'node:assert/strict';
import { corpusBleu, ciderD } from '../../src/train/metrics.js';

test('BLEU is 1 for a candidate equal to a reference and 0 with no shared word', () => {
  const same = corpusBleu([{ candidate: 'a red circle on the grass', references: ['a red circle on the grass', 'something else entirely here'] }]);
  same.forEach((b) => assert.ok(Math.abs(b - 1) < 1e-12));
  assert.deepEqual(corpusBleu([{ candidate: 'blue', references: ['red circle'] }]), [0, 0, 0, 0]);
});

test('BLEU matches a hand computation with clipping and brevity penalty', () => {
  // Candidate "the the cat" vs reference "the cat sat on the mat":
  // unigrams: the ×2 (ref has 2) + cat → 3/3; bigrams: "the the" ✗, "the cat" ✓ → 1/2.
  // Length 3 vs 6: BP = exp(1 − 6/3) = e^-1.
  const [b1, b2] = corpusBleu([{ candidate: 'the the cat', references: ['the cat sat on the mat'] }]);
  assert.ok(Math.abs(b1 - Math.exp(-1)) < 1e-12);
  assert.ok(Math.abs(b2 - Math.exp(-1) * Math.sqrt(0.5)) < 1e-12);
});

test('CIDEr-D rewards the right caption over a wrong one', () => {
  const refs = [
    ['a red circle on the grass', 'a red circle on a lawn'],
    ['two blue stars in the sky', 'there are two blue stars'],
    ['a yellow square on the sand', 'one yellow square on sandy ground'],
  ];
  const right = ciderD(refs.map((r) => ({ candidate: r[0], references: r })));
  const wrong = ciderD(refs.map((r, i) => ({ candidate: refs[(i + 1) % 3][0], references: r })));
  assert.ok(right > 1 && wrong < right / 4, `right ${right} wrong ${wrong}`);
});
