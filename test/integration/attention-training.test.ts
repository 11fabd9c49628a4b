import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, cp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetImages } from '../helpers/dataset-images.js';
import { assertSaveLoadRoundTrip, assertKnownWords } from '../helpers/captioner-round-trip.js';
import { loadTf } from '../../src/models/tfjs/runtime.js';
import { writeDataset } from '../../src/synth/dataset.js';
import { trainCaptioner, TRAIN_DEFAULTS, type TrainOptions } from '../../src/train/train-captioner.js';
import { finetuneCaptioner } from '../../src/train/finetune.js';
import { CnnLstmCaptioner } from '../../src/models/captioner/captioner.js';
import { decodeImage } from '../../src/media/image.js';
import { evaluateCaptioner, HEATMAP_FRAMES } from '../../src/train/evaluate.js';
import type { Tf } from '../../src/models/tfjs/tf.js';

let tf: Tf;
let root: string;
let options: TrainOptions;

before(async () => {
  tf = (await loadTf('wasm')).tf;
  root = await mkdtemp(join(tmpdir(), 'livecap-attention-train-'));
  await writeDataset({ outDir: join(root, 'data'), count: 48, seed: 21, progress: false });
  options = {
    ...TRAIN_DEFAULTS,
    datasetDir: join(root, 'data'),
    outDir: join(root, 'model'),
    backboneEpochs: 1,
    epochs: 3,
    units: 16,
    embedding: 8,
    attention: 8,
    batchSize: 16,
    learningRate: 3e-3,
    decoder: 'attention',
    attentionPenalty: 0.01,
  };
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const someImages = (n: number) => datasetImages(join(root, 'data'), n);

test('training an attention decoder lowers its loss and writes a model directory that loads and captions', async () => {
  const result = await trainCaptioner(tf, options);
  const losses = result.history.decoderTrain;
  assert.equal(losses.length, 3);
  assert.ok(losses[2] < losses[0] - 0.1, `loss went ${losses.map((l) => l.toFixed(3)).join(' → ')}`);
  for (const f of ['captioner.json', 'vocab.json', 'backbone/model.json', 'decoder/attention.json', 'decoder/weights.bin']) assert.ok(existsSync(join(options.outDir, f)), `${f} missing`);
  const manifest = JSON.parse(await readFile(join(options.outDir, 'captioner.json'), 'utf8'));
  assert.deepEqual({ kind: manifest.decoder.kind, model: manifest.decoder.model }, { kind: 'attention', model: 'decoder/attention.json' });
  const captioner = await CnnLstmCaptioner.load(tf, options.outDir);
  // The embedded backbone flattens a 5×6 map of 64 channels: the decoder attends over its 30 cells.
  assert.deepEqual(captioner.attention?.spec.grid, [5, 6, 64]);
  const [caption] = await captioner.captionAll(await someImages(1), { beamWidth: 1 });
  assertKnownWords(captioner, caption.text);
  captioner.dispose();
});

test('a second run resumes the attention decoder from its checkpoint', async () => {
  const result = await trainCaptioner(tf, { ...options, epochs: 4 });
  assert.equal(result.history.backbone.length, 1);
  assert.equal(result.history.decoderTrain.length, 4);
  await assert.rejects(trainCaptioner(tf, { ...options, attention: 12, epochs: 5 }), /checkpoint was made from another dataset or other options/);
});

test('save → load gives identical captions, in process and in a worker thread', async () => {
  await assertSaveLoadRoundTrip(tf, options.outDir, join(root, 'copy'), await someImages(6), 'attention');
});

test('eval reports exact objects per scene kind and draws attention heatmaps into the model folder', async () => {
  const report = await evaluateCaptioner(tf, { modelDir: options.outDir, datasetDir: options.datasetDir, split: 'all', beamWidth: 1 });
  assert.ok(report.objects);
  assert.equal(report.objects.overall.scenes, 48);
  assert.equal(
    Object.values(report.objects.kinds).reduce((n, k) => n + k.scenes, 0),
    48,
  );
  assert.equal(report.heatmaps, join(options.outDir, 'attention.png'));
  const png = decodeImage(await readFile(report.heatmaps));
  assert.ok(png.height > HEATMAP_FRAMES * 100 && png.width > 2 * 144, `${png.width}×${png.height}`);
});

test('fine-tuning trains the backbone and the attention decoder together', async () => {
  const before = await CnnLstmCaptioner.load(tf, options.outDir);
  const snap = (ts: { dataSync(): ArrayLike<number> }[]) => ts.map((t) => Array.from(t.dataSync()));
  const backboneBefore = snap(before.backbone.getWeights());
  const decoderBefore = snap(before.attention!.trainableVariables());
  before.dispose();
  const losses = await finetuneCaptioner(tf, { modelDir: options.outDir, datasetDir: options.datasetDir, epochs: 1, batchSize: 16, learningRate: 1e-3, seed: 1 });
  assert.equal(losses.length, 1);
  const after = await CnnLstmCaptioner.load(tf, options.outDir);
  const change = (a: number[][], b: number[][]) => Math.max(...a.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - b[i][j])))));
  assert.ok(change(snap(after.backbone.getWeights()), backboneBefore) > 0);
  assert.ok(change(snap(after.attention!.trainableVariables()), decoderBefore) > 0);
  after.dispose();
});

test('loading says when an attention decoder does not fit its backbone or the manifest names an unknown kind', async () => {
  const { AttentionDecoder } = await import('../../src/models/captioner/attention.js');
  const { parseManifest } = await import('../../src/models/captioner/model-dir.js');
  const bad = join(root, 'bad');
  await cp(options.outDir, bad, { recursive: true });
  const vocab = JSON.parse(await readFile(join(bad, 'vocab.json'), 'utf8')) as unknown[];
  const other = AttentionDecoder.create(tf, { grid: [3, 4, 64], vocabularySize: vocab.length, embedding: 4, units: 4, attention: 4, dropout: 0 });
  await other.save(join(bad, 'decoder'));
  other.dispose();
  await assert.rejects(CnnLstmCaptioner.load(tf, bad), /attends over a 3×4×64 feature map but the backbone .* gives 5×6×64/);
  assert.throws(
    () => parseManifest({ backbone: { model: 'b' }, decoder: { kind: 'transformer', model: 'd' }, vocabulary: 'v' }, 'x.json'),
    /decoder.kind must be one of layers, attention, got "transformer"/,
  );
});
