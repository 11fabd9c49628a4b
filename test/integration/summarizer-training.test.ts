/**
 * Training the embedded summarizer: BART in TensorFlow.js ops computes what the independent
 * reference BART computes, learns, hands its weights back unchanged, and a short training run
 * writes a folder the ONNX engine opens, resuming from its checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTf } from '../../src/models/tfjs/runtime.js';
import { initBartWeights } from '../../src/train/bart/bart-weights.js';
import { TrainableBart, padBatch } from '../../src/train/summarizer/bart-tfjs.js';
import { summaryPairs } from '../../src/train/summarizer/summary-pairs.js';
import { trainSummarizer, SUMMARIZER_TRAIN_DEFAULTS } from '../../src/train/summarizer/train-summarizer.js';
import { contentSequence, evaluateSummarizer } from '../../src/train/summarizer/evaluate-summarizer.js';
import { rougeL } from '../../src/train/metrics.js';
import { summaryFor } from '../../src/synth/grammar.js';
import { TextSeq2Seq } from '../../src/models/seq2seq/text-seq2seq.js';
import { ReferenceBart } from '../helpers/bart-reference.js';
import { tinyBartConfig } from '../helpers/tiny-bart.js';

const { tf } = await loadTf('wasm');
const CONFIG = tinyBartConfig(40, 'relu');
const PAIRS = [
  { source: [0, 5, 6, 7, 8, 9, 2], target: [0, 10, 11, 2] },
  { source: [0, 12, 13, 2], target: [0, 14, 15, 16, 17, 2] },
];

test('BART in TensorFlow.js ops computes the reference logits on a padded batch', () => {
  const weights = initBartWeights(CONFIG, 3, 0.5, 0.3);
  const model = new TrainableBart(tf, CONFIG, weights);
  const reference = new ReferenceBart(CONFIG, weights);
  const logits = tf.tidy(() => model.logits(padBatch(CONFIG, PAIRS)).arraySync()) as number[][][];
  let worst = 0;
  PAIRS.forEach((p, r) => {
    const encoded = reference.encode(p.source);
    const decoderInput = [CONFIG.decoderStartTokenId, ...p.target.slice(0, -1)];
    decoderInput.forEach((_, t) => reference.nextLogits(encoded, decoderInput.slice(0, t + 1)).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - logits[r]![t]![i]!)))));
  });
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
  model.dispose();
});

test('its weights come back in the layout they went in, and a batch can be learned', async () => {
  const weights = initBartWeights(CONFIG, 5);
  const model = new TrainableBart(tf, CONFIG, weights);
  const back = await model.weights();
  for (const [name, w] of Object.entries(weights)) {
    assert.deepEqual(back[name]!.dims, w.dims, name);
    assert.deepEqual(back[name]!.data, w.data, name);
  }
  const batch = padBatch(CONFIG, PAIRS);
  const optimizer = tf.train.adam(1e-2);
  const losses: number[] = [];
  for (let i = 0; i < 60; i++) {
    const loss = optimizer.minimize(() => model.loss(batch) as never, true, [...model.variables.values()])!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  assert.ok(losses.at(-1)! < losses[0]! / 4, `loss ${losses[0]} → ${losses.at(-1)}`);
  model.dispose();
  optimizer.dispose();
});

test('training pairs are the captions of a run of scenes and its ground-truth summary, the same for a seed', () => {
  const pairs = summaryPairs(11, 20);
  assert.deepEqual(pairs, summaryPairs(11, 20));
  for (const p of pairs) {
    assert.equal(p.summary, summaryFor(p.scenes));
    assert.ok(p.captions.length >= 1 && p.captions.length <= p.scenes.length * 3);
    assert.equal(p.input, p.captions.map((c) => `${c}.`).join(' '));
  }
  assert.notDeepEqual(summaryPairs(12, 20), pairs);
});

test('ROUGE-L is the longest common word subsequence', () => {
  assert.deepEqual(rougeL('a b c d', 'a c d e'), { precision: 0.75, recall: 0.75, f: 0.75 });
  assert.deepEqual(rougeL('the video shows a red star', 'the video shows a red star'), { precision: 1, recall: 1, f: 1 });
  assert.equal(rougeL('x y', 'a b c').f, 0);
  const r = rougeL('a b', 'a x b y');
  assert.deepEqual([r.precision, r.recall], [1, 0.5]);
  assert.equal(contentSequence('the video shows two red stars in the sky then three shapes and finally a purple square'), 'red star purple square');
});

test('a short training run writes an ONNX export the engine runs, and resumes from its checkpoint', async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'livecap-summarizer-'));
  const options = { ...SUMMARIZER_TRAIN_DEFAULTS, outDir, epochs: 1, pairsPerEpoch: 48, batchSize: 16, warmupSteps: 2, dModel: 32, layers: 1, heads: 2, ffn: 48 };
  const first = await trainSummarizer(tf, options);
  assert.equal(first.state.epochs, 1);
  const second = await trainSummarizer(tf, { ...options, epochs: 2 });
  assert.equal(second.state.epochs, 2);
  assert.equal(second.state.steps, first.state.steps * 2, 'the second run only trained the new epoch');
  assert.deepEqual(second.state.train.slice(0, 1), first.state.train);
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx', 'training-curve.png', 'training.json']) {
    assert.ok(existsSync(join(outDir, f)), f);
  }
  assert.equal(JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')).d_model, 32);

  const model = await TextSeq2Seq.open(outDir);
  try {
    const report = await evaluateSummarizer(model, { videos: 2, seed: 77, windowSeconds: 10, hopSeconds: 10, videoSeconds: 20 });
    assert.equal(report.windows, 4);
    assert.ok(report.rougeL >= 0 && report.rougeL <= 1);
    assert.ok(report.samples.every((s) => s.reference.startsWith('the video shows')));
  } finally {
    await model.release();
  }
});
