/**
 * `livecap train`: trains a CNN→LSTM captioner on a Flickr8k-layout dataset and writes a
 * model directory that the captioner loads (see models/captioner/model-dir.ts).
 *
 * Stages, each resumable from MODEL_DIR/checkpoint/ after any epoch:
 *   1. backbone: with no pretrained backbone given, the embedded CNN is trained to detect the
 *      captions' concepts (words and word pairs) in its image;
 *   2. features: every image's backbone feature vector is computed once and cached;
 *   3. decoder: the merge LSTM decoder (or, with `decoder: 'attention'`, the attention decoder
 *      over the backbone's spatial feature map, models/captioner/attention.ts) is trained on
 *      the cached features with teacher forcing, a masked cross-entropy over every next word
 *      of every caption.
 * A training-curve PNG in MODEL_DIR is redrawn after every epoch.
 */
import { mkdir, readFile, writeFile, cp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import type { LayersModel, Optimizer, Tensor, Variable } from '@tensorflow/tfjs';
import { fileSaveHandler, loadLayersModel } from '../models/tfjs/file-io.js';
import { buildBackbone, buildDecoder, EMBEDDED_BACKBONE, EMBEDDED_DECODER } from '../models/captioner/architecture.js';
import { MANIFEST_FILE, type CaptionerManifest, type DecoderKind, type PixelScale } from '../models/captioner/model-dir.js';
import { backboneGrid, preprocess } from '../models/captioner/captioner.js';
import { AttentionDecoder, ATTENTION_FILE } from '../models/captioner/attention.js';
import { Vocabulary } from '../models/captioner/vocabulary.js';
import { Progress } from '../util/progress.js';
import { Rng, hashString } from '../util/rng.js';
import { log } from '../util/log.js';
import { readCaptionDataset, type CaptionedImage } from './caption-dataset.js';
import { mineConcepts } from './concepts.js';
import { loadPixels } from './pixels.js';
import { hasAttentionCheckpoint, hasCheckpoint, restoreAttentionState, restoreTrainingState, saveAttentionState, saveTrainingState } from './checkpoint.js';
import { maskedCrossEntropy, teacherForcing } from './teacher-forcing.js';
import { finetuneCaptioner, FINETUNE_DEFAULTS } from './finetune.js';
import { trainingCurve, type History } from './training-curve.js';
import type { Tf } from '../models/tfjs/tf.js';

export interface TrainOptions {
  datasetDir: string;
  outDir: string;
  /** A pretrained backbone's model.json; without it the embedded CNN is trained first. */
  backbone?: string;
  pixelScale?: PixelScale;
  backboneEpochs: number;
  backboneLearningRate: number;
  epochs: number;
  /** Epochs of end-to-end fine-tuning after the decoder (0: none). */
  finetuneEpochs: number;
  batchSize: number;
  learningRate: number;
  embedding: number;
  units: number;
  /** "layers": the merge LSTM over a feature vector; "attention": attention over the feature map. */
  decoder?: DecoderKind;
  /** Width of the attention decoder's additive attention (default 128). */
  attention?: number;
  /** Weight of the doubly stochastic attention penalty (default 0: off). */
  attentionPenalty?: number;
  seed: number;
  /** Use at most this many training images (quick runs and tests). */
  limit?: number;
  minWordCount: number;
}

export const TRAIN_DEFAULTS = {
  backboneEpochs: 12,
  backboneLearningRate: 1e-3,
  epochs: 20,
  finetuneEpochs: 0,
  batchSize: 64,
  learningRate: 1e-3,
  embedding: EMBEDDED_DECODER.embedding,
  units: EMBEDDED_DECODER.units,
  decoder: 'layers' as DecoderKind,
  attention: 128,
  attentionPenalty: 0,
  seed: 1,
  minWordCount: 1,
};

interface TrainState {
  fingerprint: string;
  backboneEpochs: number;
  backboneDone: boolean;
  decoderEpochs: number;
  history: History;
}

export interface TrainResult {
  outDir: string;
  history: History;
  trainImages: number;
  valImages: number;
  vocabularySize: number;
  seconds: number;
}

/** The decoder options in a checkpoint's fingerprint: none for a layers decoder, as before there was a choice. */
function decoderFingerprint(o: TrainOptions) {
  return o.decoder === 'attention'
    ? { decoder: 'attention', attention: o.attention ?? TRAIN_DEFAULTS.attention, attentionPenalty: o.attentionPenalty ?? 0 }
    : { decoder: undefined, attention: undefined, attentionPenalty: undefined };
}

function trainableVariables(model: LayersModel): Variable[] {
  return model.trainableWeights.map((w) => w.read() as Variable);
}

async function saveModel(tf: Tf, model: LayersModel, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await model.save(fileSaveHandler(tf, dir));
}

export async function trainCaptioner(tf: Tf, options: TrainOptions): Promise<TrainResult> {
  const started = Date.now();
  const dataset = await readCaptionDataset(options.datasetDir);
  let train = dataset.images.filter((i) => i.split === 'train');
  const val = dataset.images.filter((i) => i.split === 'val').slice(0, options.limit ? Math.max(8, Math.ceil(options.limit / 8)) : undefined);
  if (options.limit) train = train.slice(0, options.limit);
  if (train.length === 0) throw new Error(`${options.datasetDir}: no training images (split: ${dataset.splitMethod})`);
  log.info('training captioner', { dataset: options.datasetDir, train: train.length, val: val.length, split: dataset.splitMethod });

  const vocabulary = Vocabulary.fromCaptions(
    train.flatMap((i) => i.captions),
    undefined,
    options.minWordCount,
  );
  const ckptDir = join(options.outDir, 'checkpoint');
  const statePath = join(ckptDir, 'state.json');
  const fingerprint = String(
    hashString(
      JSON.stringify({
        names: train.map((i) => i.name),
        val: val.map((i) => i.name),
        vocab: vocabulary.words,
        o: { ...options, outDir: undefined, datasetDir: undefined, epochs: undefined, backboneEpochs: undefined, finetuneEpochs: undefined, ...decoderFingerprint(options) },
      }),
    ),
  );
  let state: TrainState = { fingerprint, backboneEpochs: 0, backboneDone: false, decoderEpochs: 0, history: { backbone: [], decoderTrain: [], decoderVal: [] } };
  if (existsSync(statePath)) {
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as TrainState;
    if (saved.fingerprint !== fingerprint) {
      throw new Error(`${ckptDir}: checkpoint was made from another dataset or other options; remove it to start over`);
    }
    state = saved;
    log.info('resuming from checkpoint', { backboneEpochs: state.backboneEpochs, decoderEpochs: state.decoderEpochs });
  }
  await mkdir(ckptDir, { recursive: true });
  const saveState = () => writeFile(statePath, JSON.stringify(state, null, 2));
  const curvePath = join(options.outDir, 'training-curve.png');
  const drawCurve = () => writeFile(curvePath, trainingCurve(state.history));

  // Stage 1: the backbone.
  const pixelScale: PixelScale = options.backbone ? (options.pixelScale ?? '-1..1') : '0..1';
  let backbone: LayersModel;
  // Training images decoded for the backbone are reused for the features rather than read again.
  let trainPixels: Uint8Array | undefined;
  if (options.backbone) {
    backbone = await loadLayersModel(tf, options.backbone);
  } else {
    ({ backbone, pixels: trainPixels } = await trainBackbone(tf, options, dataset.imagesDir, train, state, ckptDir, saveState, drawCurve));
  }
  const inShape = backbone.inputs[0].shape as number[];
  const [height, width] = [inShape[1], inShape[2]];

  // Stage 2: features, computed once and cached.
  const all = [...train, ...val];
  const kind = options.decoder ?? 'layers';
  const grid = kind === 'attention' ? backboneGrid(backbone) : null;
  if (kind === 'attention' && !grid) throw new Error(`${options.backbone ?? 'the backbone'}: an attention decoder needs a backbone that yields a spatial feature map (or flattens one)`);
  const features = await cachedFeatures(tf, backbone, pixelScale, dataset.imagesDir, all, width, height, join(options.outDir, 'cache'), trainPixels, kind === 'attention');
  const featureSize = features.length / all.length;
  const encode = (imgs: CaptionedImage[], offset: number) => imgs.flatMap((img, i) => img.captions.map((c) => ({ feature: offset + i, tokens: vocabulary.encode(c) })));
  const trainSeqs = encode(train, 0);
  const valSeqs = encode(val, train.length);
  const maxLength = Math.max(...trainSeqs.map((s) => s.tokens.length));
  const runEpochs = async (step: (batch: Sequence[]) => number, valLoss: () => number, checkpoint: () => Promise<void>) => {
    for (let epoch = state.decoderEpochs; epoch < options.epochs; epoch++) {
      const rng = new Rng(options.seed * 1000 + epoch);
      const order = rng.shuffle(trainSeqs.map((_, i) => i));
      const bar = new Progress({ label: `decoder epoch ${epoch + 1}/${options.epochs}`, total: order.length });
      let sum = 0;
      let batches = 0;
      for (let b = 0; b < order.length; b += options.batchSize) {
        const batch = order.slice(b, b + options.batchSize).map((i) => trainSeqs[i]);
        sum += step(batch);
        batches++;
        bar.tick(batch.length, { loss: sum / batches });
      }
      const val = valSeqs.length ? valLoss() : NaN;
      bar.finish({ loss: sum / batches, val });
      state.history.decoderTrain.push(sum / batches);
      state.history.decoderVal.push(val);
      state.decoderEpochs = epoch + 1;
      await checkpoint();
      await saveState();
      await drawCurve();
    }
  };

  // Stage 3: the decoder.
  let decoder: LayersModel | undefined;
  let attention: AttentionDecoder | undefined;
  const optimizer = tf.train.adam(options.learningRate);
  if (kind === 'attention') {
    const att = AttentionDecoder.create(
      tf,
      { grid: grid!, vocabularySize: vocabulary.size, embedding: options.embedding, units: options.units, attention: options.attention ?? TRAIN_DEFAULTS.attention, dropout: EMBEDDED_DECODER.dropout },
      options.seed,
    );
    attention = att;
    const ckpt = join(ckptDir, 'attention-decoder');
    if (state.decoderEpochs > 0 && hasAttentionCheckpoint(ckpt)) await restoreAttentionState(tf, att, undefined, optimizer, ckpt);
    const penalty = options.attentionPenalty ?? 0;
    await runEpochs(
      (batch) => attentionStep(tf, att, features, featureSize, batch, optimizer, penalty),
      () => attentionLoss(tf, att, features, featureSize, valSeqs),
      () => saveAttentionState(tf, att, undefined, optimizer, ckpt),
    );
    await rm(join(options.outDir, 'decoder'), { recursive: true, force: true });
    await att.save(join(options.outDir, 'decoder'));
  } else {
    const layers = buildDecoder(tf, { featureSize, vocabularySize: vocabulary.size, embedding: options.embedding, units: options.units, dropout: EMBEDDED_DECODER.dropout });
    decoder = layers;
    const decoderCkpt = join(ckptDir, 'decoder');
    if (state.decoderEpochs > 0 && hasCheckpoint(decoderCkpt)) await restoreTrainingState(tf, layers, optimizer, decoderCkpt);
    await runEpochs(
      (batch) => decoderStep(tf, layers, features, featureSize, batch, vocabulary.size, optimizer),
      () => decoderLoss(tf, layers, features, featureSize, valSeqs, vocabulary.size),
      () => saveTrainingState(tf, layers, optimizer, decoderCkpt),
    );
    await saveModel(tf, layers, join(options.outDir, 'decoder'));
  }

  // The model directory.
  await rm(join(options.outDir, 'backbone'), { recursive: true, force: true });
  await copyModel(options.backbone ?? join(ckptDir, 'backbone', 'model.json'), join(options.outDir, 'backbone'));
  await vocabulary.save(join(options.outDir, 'vocab.json'));
  const manifest: CaptionerManifest = {
    backbone: { model: 'backbone/model.json', pixelScale },
    decoder: kind === 'attention' ? { kind, model: `decoder/${ATTENTION_FILE}`, padding: 'post', maxLength } : { kind, model: 'decoder/model.json', padding: 'post', maxLength },
    vocabulary: 'vocab.json',
    tokens: vocabulary.tokens,
    search: { beamWidth: 3, lengthPenalty: 1 },
  };
  await writeFile(join(options.outDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  if (options.finetuneEpochs > 0) {
    if (options.backbone) log.warn('fine-tuning a pretrained backbone: make sure it is trainable and its pixel scale is right');
    state.history.finetune = await finetuneCaptioner(tf, {
      modelDir: options.outDir,
      datasetDir: options.datasetDir,
      epochs: options.finetuneEpochs,
      batchSize: FINETUNE_DEFAULTS.batchSize,
      learningRate: FINETUNE_DEFAULTS.learningRate,
      seed: options.seed,
      limit: options.limit,
    });
    await saveState();
  }
  await drawCurve();
  const result: TrainResult = {
    outDir: options.outDir,
    history: state.history,
    trainImages: train.length,
    valImages: val.length,
    vocabularySize: vocabulary.size,
    seconds: (Date.now() - started) / 1000,
  };
  await writeFile(
    join(options.outDir, 'training.json'),
    JSON.stringify({ dataset: basename(options.datasetDir), split: dataset.splitMethod, options: { ...options, datasetDir: undefined, outDir: undefined }, ...result, outDir: undefined }, null, 2) +
      '\n',
  );
  backbone.dispose();
  decoder?.dispose();
  attention?.dispose();
  optimizer.dispose();
  return result;
}

async function copyModel(modelJson: string, toDir: string): Promise<void> {
  await mkdir(toDir, { recursive: true });
  const json = JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest?: { paths: string[] }[] };
  await cp(modelJson, join(toDir, 'model.json'));
  for (const group of json.weightsManifest ?? []) for (const p of group.paths) await cp(join(dirname(modelJson), p), join(toDir, p));
}

async function trainBackbone(
  tf: Tf,
  options: TrainOptions,
  imagesDir: string,
  train: CaptionedImage[],
  state: TrainState,
  ckptDir: string,
  saveState: () => Promise<void>,
  drawCurve: () => Promise<void>,
): Promise<{ backbone: LayersModel; pixels?: Uint8Array }> {
  const finalDir = join(ckptDir, 'backbone');
  if (state.backboneDone && existsSync(join(finalDir, 'model.json'))) return { backbone: await loadLayersModel(tf, join(finalDir, 'model.json')) };
  const { inputHeight: h, inputWidth: w } = EMBEDDED_BACKBONE;
  const { concepts, targets } = mineConcepts(train.map((i) => i.captions));
  log.info('backbone: training the embedded CNN on caption concepts', { concepts: concepts.length, images: train.length });
  const pixels = await loadPixels(
    imagesDir,
    train.map((i) => i.name),
    w,
    h,
  );
  const { backbone, pretraining } = buildBackbone(tf, EMBEDDED_BACKBONE, concepts.length);
  const optimizer = tf.train.adam(options.backboneLearningRate);
  const stateDir = join(ckptDir, 'backbone-pretraining');
  if (state.backboneEpochs > 0 && hasCheckpoint(stateDir)) await restoreTrainingState(tf, pretraining, optimizer, stateDir);
  const size = w * h * 3;
  const c = concepts.length;
  const vars = trainableVariables(pretraining);
  for (let epoch = state.backboneEpochs; epoch < options.backboneEpochs; epoch++) {
    const order = new Rng(options.seed * 7919 + epoch).shuffle(train.map((_, i) => i));
    const bar = new Progress({ label: `backbone epoch ${epoch + 1}/${options.backboneEpochs}`, total: order.length });
    let sum = 0;
    let batches = 0;
    for (let b = 0; b < order.length; b += options.batchSize) {
      const idx = order.slice(b, b + options.batchSize);
      const x = new Float32Array(idx.length * size);
      const y = new Float32Array(idx.length * c);
      idx.forEach((i, k) => {
        for (let j = 0; j < size; j++) x[k * size + j] = pixels[i * size + j] / 255;
        y.set(targets.subarray(i * c, (i + 1) * c), k * c);
      });
      const xt = tf.tensor4d(x, [idx.length, h, w, 3]);
      const yt = tf.tensor2d(y, [idx.length, c]);
      const loss = optimizer.minimize(() => tf.metrics.binaryCrossentropy(yt, pretraining.apply(xt, { training: true }) as Tensor).mean(), true, vars)!;
      sum += (await loss.data())[0];
      batches++;
      tf.dispose([xt, yt, loss]);
      bar.tick(idx.length, { loss: sum / batches });
    }
    bar.finish();
    state.history.backbone.push(sum / batches);
    state.backboneEpochs = epoch + 1;
    await saveTrainingState(tf, pretraining, optimizer, stateDir);
    await saveState();
    await drawCurve();
  }
  await saveModel(tf, backbone, finalDir);
  state.backboneDone = true;
  await saveState();
  pretraining.layers.filter((l) => !backbone.layers.includes(l)).forEach((l) => l.dispose());
  optimizer.dispose();
  return { backbone, pixels };
}

/**
 * Feature vectors of all images (flattened feature maps with `spatial`), cached on disk by
 * backbone weights and image list.
 * `preloaded` holds the pixels of the first images at this size, when the caller has them.
 */
async function cachedFeatures(
  tf: Tf,
  backbone: LayersModel,
  pixelScale: PixelScale,
  imagesDir: string,
  images: CaptionedImage[],
  width: number,
  height: number,
  cacheDir: string,
  preloaded?: Uint8Array,
  spatial = false,
): Promise<Float32Array> {
  const weights = backbone.getWeights();
  let weightHash = 0;
  for (const t of weights) {
    const d = t.dataSync();
    // A sample of each weight tensor identifies it well enough for a cache key.
    for (let i = 0; i < d.length; i += Math.max(1, Math.floor(d.length / 257))) weightHash = Math.imul(weightHash ^ Math.round(d[i] * 1e6), 16777619) >>> 0;
  }
  const key = hashString(JSON.stringify({ names: images.map((i) => i.name), weightHash, pixelScale, width, height, ...(spatial ? { spatial } : {}) })).toString(16);
  const file = join(cacheDir, `features-${key}.bin`);
  if (existsSync(file)) {
    const buf = await readFile(file);
    log.info('features: using cache', { file });
    return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  }
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(cacheDir, { recursive: true });
  const size = width * height * 3;
  const have = preloaded ? preloaded.length / size : 0;
  const rest = await loadPixels(
    imagesDir,
    images.slice(have).map((i) => i.name),
    width,
    height,
    'features: loading images',
  );
  const pixels = have === 0 ? rest : new Uint8Array(preloaded!.length + rest.length);
  if (have > 0) {
    pixels.set(preloaded!);
    pixels.set(rest, preloaded!.length);
  }
  let out: Float32Array | undefined;
  const bar = new Progress({ label: 'features', total: images.length });
  const batch = 32;
  for (let b = 0; b < images.length; b += batch) {
    const n = Math.min(batch, images.length - b);
    const frames = Array.from({ length: n }, (_, k) => ({ width, height, data: pixels.subarray((b + k) * size, (b + k + 1) * size) }));
    const x = tf.tensor4d(preprocess(frames, width, height, pixelScale), [n, height, width, 3]);
    const y = tf.tidy(() => {
      const r = backbone.predict(x) as Tensor;
      // A feature map is pooled for a layers decoder and kept (flattened) for attention.
      return r.rank === 4 ? (spatial ? r.reshape([n, -1]) : tf.mean(r, [1, 2])) : r;
    });
    const data = (await y.data()) as Float32Array;
    const f = data.length / n;
    out ??= new Float32Array(images.length * f);
    out.set(data, b * f);
    tf.dispose([x, y]);
    bar.tick(n);
  }
  await writeFile(file, new Uint8Array(out!.buffer));
  return out!;
}

interface Sequence {
  feature: number;
  tokens: number[];
}

/** Teacher-forcing tensors for a batch, with each caption's cached image features. */
function batchTensors(tf: Tf, features: Float32Array, featureSize: number, batch: readonly Sequence[]) {
  const f = new Float32Array(batch.length * featureSize);
  batch.forEach((s, k) => f.set(features.subarray(s.feature * featureSize, (s.feature + 1) * featureSize), k * featureSize));
  return {
    f: tf.tensor2d(f, [batch.length, featureSize]),
    ...teacherForcing(
      tf,
      batch.map((s) => s.tokens),
    ),
  };
}

function decoderStep(tf: Tf, decoder: LayersModel, features: Float32Array, featureSize: number, batch: readonly Sequence[], vocab: number, optimizer: Optimizer): number {
  const t = batchTensors(tf, features, featureSize, batch);
  try {
    const loss = optimizer.minimize(() => maskedCrossEntropy(tf, decoder.apply([t.f, t.words], { training: true }) as Tensor, t.next, t.mask, vocab) as never, true, trainableVariables(decoder))!;
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  } finally {
    tf.dispose([t.f, t.words, t.next, t.mask]);
  }
}

function decoderLoss(tf: Tf, decoder: LayersModel, features: Float32Array, featureSize: number, seqs: readonly Sequence[], vocab: number): number {
  let total = 0;
  let count = 0;
  for (let b = 0; b < seqs.length; b += 256) {
    const batch = seqs.slice(b, b + 256);
    const t = batchTensors(tf, features, featureSize, batch);
    const loss = tf.tidy(() => maskedCrossEntropy(tf, decoder.apply([t.f, t.words], { training: false }) as Tensor, t.next, t.mask, vocab));
    const words = t.mask.sum().dataSync()[0];
    total += loss.dataSync()[0] * words;
    count += words;
    tf.dispose([loss, t.f, t.words, t.next, t.mask]);
  }
  return total / count;
}

function attentionStep(tf: Tf, decoder: AttentionDecoder, features: Float32Array, featureSize: number, batch: readonly Sequence[], optimizer: Optimizer, penalty: number): number {
  const t = batchTensors(tf, features, featureSize, batch);
  try {
    const loss = optimizer.minimize(() => decoder.loss(t.f, t.words, t.next, t.mask, true, penalty) as never, true, decoder.trainableVariables())!;
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  } finally {
    tf.dispose([t.f, t.words, t.next, t.mask]);
  }
}

/** Validation cross-entropy of an attention decoder (no penalty, no dropout), per word. */
function attentionLoss(tf: Tf, decoder: AttentionDecoder, features: Float32Array, featureSize: number, seqs: readonly Sequence[]): number {
  let total = 0;
  let count = 0;
  for (let b = 0; b < seqs.length; b += 256) {
    const t = batchTensors(tf, features, featureSize, seqs.slice(b, b + 256));
    const loss = tf.tidy(() => decoder.loss(t.f, t.words, t.next, t.mask, false));
    const words = t.mask.sum().dataSync()[0];
    total += loss.dataSync()[0] * words;
    count += words;
    tf.dispose([loss, t.f, t.words, t.next, t.mask]);
  }
  return total / count;
}
