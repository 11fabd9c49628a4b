import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetImages } from '../helpers/dataset-images.js';
import { assertSaveLoadRoundTrip, assertKnownWords } from '../helpers/captioner-round-trip.js';
import { loadTf } from '../../src/models/tfjs/runtime.js';
import { writeDataset } from '../../src/synth/dataset.js';
import { trainCaptioner, TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/train-captioner.js';
import { CnnLstmCaptioner } from '../../src/models/captioner/captioner.js';
import { decodeImage } from '../../src/media/image.js';
import { evaluateCaptioner } from '../../src/train/evaluate.js';
import type { Tf } from '../../src/models/tfjs/tf.js';

let tf: Tf;
let root: string;
let options: TrainOptions;

before(async () => {
  tf = (await loadTf('wasm')).tf;
  root = await mkdtemp(join(tmpdir(), 'livecap-train-'));
  await writeDataset({ outDir: join(root, 'data'), count: 48, seed: 21, progress: false });
  options = { ...TRAIN_DEFAULTS, datasetDir: join(root, 'data'), outDir: join(root, 'model'), backboneEpochs: 1, epochs: 1, units: 16, embedding: 8, batchSize: 16 };
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const someImages = (n: number) => datasetImages(join(root, 'data'), n);

test('train writes a complete model directory with a training curve, and it loads and captions', async () => {
  const result = await trainCaptioner(tf, options);
  assert.equal(result.history.backbone.length, 1);
  assert.equal(result.history.decoderTrain.length, 1);
  for (const f of ['captioner.json', 'vocab.json', 'backbone/model.json', 'backbone/weights.bin', 'decoder/model.json', 'decoder/weights.bin', 'training.json']) {
    assert.ok(existsSync(join(options.outDir, f)), `${f} missing`);
  }
  const curve = decodeImage(await readFile(join(options.outDir, 'training-curve.png')));
  assert.ok(curve.width >= 480 && curve.height >= 200);
  const captioner = await CnnLstmCaptioner.load(tf, options.outDir);
  const [caption] = await captioner.captionAll(await someImages(1), { beamWidth: 1 });
  assert.equal(typeof caption.text, 'string');
  assertKnownWords(captioner, caption.text);
  captioner.dispose();
});

test('a second run resumes from the checkpoint: the backbone is not retrained and the decoder continues', async () => {
  const result = await trainCaptioner(tf, { ...options, epochs: 2 });
  assert.equal(result.history.backbone.length, 1);
  assert.equal(result.history.decoderTrain.length, 2);
  const state = JSON.parse(await readFile(join(options.outDir, 'checkpoint', 'state.json'), 'utf8'));
  assert.equal(state.decoderEpochs, 2);
});

test('fine-tuning trains backbone and decoder together, changes both, and resumes', async () => {
  const before = await CnnLstmCaptioner.load(tf, options.outDir);
  const snapshot = (m: { getWeights(): { dataSync(): ArrayLike<number> }[] }) => m.getWeights().map((t) => Array.from(t.dataSync()));
  const backboneBefore = snapshot(before.backbone);
  const decoderBefore = snapshot(before.decoder!);
  before.dispose();
  const result = await trainCaptioner(tf, { ...options, epochs: 2, finetuneEpochs: 1 });
  assert.equal(result.history.finetune?.length, 1);
  const after = await CnnLstmCaptioner.load(tf, options.outDir);
  const maxChange = (a: number[][], b: number[][]) => Math.max(...a.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - b[i][j])))));
  const backboneChange = maxChange(snapshot(after.backbone), backboneBefore);
  const decoderChange = maxChange(snapshot(after.decoder!), decoderBefore);
  assert.ok(backboneChange > 0 && decoderChange > 0, `backbone changed by ${backboneChange}, decoder by ${decoderChange}`);
  const tuned = await after.captionAll(await someImages(3), { beamWidth: 1 });
  after.dispose();
  // Running again with the same epochs is a resume with nothing left to do: the tuned model stays.
  await trainCaptioner(tf, { ...options, epochs: 2, finetuneEpochs: 1 });
  const again = await CnnLstmCaptioner.load(tf, options.outDir);
  assert.deepEqual(await again.captionAll(await someImages(3), { beamWidth: 1 }), tuned);
  again.dispose();
});

test('a checkpoint from other options is refused rather than silently mixed', async () => {
  await assert.rejects(trainCaptioner(tf, { ...options, units: 24, epochs: 3 }), /checkpoint was made from another dataset or other options/);
});

test('save → load of a trained model gives the same captions, in process and in a worker thread', async () => {
  await assertSaveLoadRoundTrip(tf, options.outDir, join(root, 'copy'), await someImages(6), 'layers');
});

test('eval reports BLEU-1..4 and CIDEr on the held-out split', async () => {
  const report = await evaluateCaptioner(tf, { modelDir: options.outDir, datasetDir: options.datasetDir, split: 'all', beamWidth: 1 });
  assert.equal(report.images, 48);
  assert.equal(report.bleu.length, 4);
  report.bleu.forEach((b) => assert.ok(b >= 0 && b <= 1));
  assert.ok(report.bleu[0] >= report.bleu[3]);
  assert.ok(report.content && report.content.scenes > 0);
});
