/**
 * `livecap train-summarizer`: trains the embedded summarizer, a small BART, on synthetic
 * (window of captions → summary) pairs, and writes it as a Hugging Face ONNX export that the
 * same engine loads as it loads a converted DistilBART.
 *
 *   1. a byte-level BPE tokenizer trained on the pairs' text (tokenizer.json);
 *   2. BART in TensorFlow.js ops (bart-tfjs.ts), Adam with warm-up, fresh pairs every epoch,
 *      a held-out loss after each; resumable from OUT/checkpoint after any epoch;
 *   3. the weights exported to onnx/encoder_model.onnx + decoder_model(_merged).onnx, with
 *      config.json, generation_config.json, a training-curve PNG and training.json.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { BartConfig } from '../bart/bart-config.js';
import type { BartWeights } from '../bart/bart-onnx.js';
import { initBartWeights } from '../bart/bart-weights.js';
import { writeBartModelDir } from '../bart/write-bart-dir.js';
import { tokenizerConfigJson, trainByteLevelBpe } from '../tokenizer/byte-level-bpe.js';
import { renderChart } from '../../plot/line-chart.js';
import { Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { log } from '../../util/log.js';
import { restoreOptimizer, saveOptimizer } from '../checkpoint.js';
import { TrainableBart, padBatch } from './bart-tfjs.js';
import { summaryPairs, type SummaryPair } from './summary-pairs.js';
import type { Tf } from '../../models/tfjs/tf.js';

export interface SummarizerTrainOptions {
  outDir: string;
  epochs: number;
  pairsPerEpoch: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  labelSmoothing: number;
  seed: number;
  dModel: number;
  layers: number;
  heads: number;
  ffn: number;
}

export const SUMMARIZER_TRAIN_DEFAULTS: Omit<SummarizerTrainOptions, 'outDir'> = {
  epochs: 20,
  pairsPerEpoch: 8000,
  batchSize: 32,
  learningRate: 1e-3,
  warmupSteps: 300,
  labelSmoothing: 0.05,
  seed: 1,
  dModel: 128,
  layers: 2,
  heads: 4,
  ffn: 256,
};

/** What generation_config.json asks of the engine for this model. */
const GENERATION = { num_beams: 2, max_length: 128, min_length: 4, no_repeat_ngram_size: 0, length_penalty: 1.0, early_stopping: true };
const VALIDATION_SEED = 424242;

interface State {
  fingerprint: string;
  epochs: number;
  steps: number;
  train: number[];
  val: number[];
}

type Encoded = { source: number[]; target: number[] };

export async function trainSummarizer(tf: Tf, options: SummarizerTrainOptions): Promise<{ state: State; config: BartConfig }> {
  const ckpt = join(options.outDir, 'checkpoint');
  await mkdir(ckpt, { recursive: true });
  const fingerprint = JSON.stringify({ ...options, outDir: undefined, epochs: undefined });

  // The tokenizer: trained once on pairs the model never sees as training pairs' seeds.
  const tokenizerPath = join(ckpt, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) {
    const corpus = summaryPairs(options.seed * 7 + 3, 4000).flatMap((p) => [...p.captions, p.summary]);
    await writeFile(tokenizerPath, JSON.stringify(trainByteLevelBpe(corpus, { vocabSize: 640 })));
  }
  const tokenizerJson = JSON.parse(await readFile(tokenizerPath, 'utf8')) as Record<string, unknown>;
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfigJson(256));
  const vocabSize = Object.keys((tokenizerJson.model as { vocab: object }).vocab).length;
  const config: BartConfig = {
    vocabSize,
    dModel: options.dModel,
    encoderLayers: options.layers,
    decoderLayers: options.layers,
    encoderHeads: options.heads,
    decoderHeads: options.heads,
    encoderFfn: options.ffn,
    decoderFfn: options.ffn,
    maxPositions: 256,
    scaleEmbedding: false,
    activation: 'relu',
    padTokenId: 1,
    bosTokenId: 0,
    eosTokenId: 2,
    decoderStartTokenId: 2,
  };
  const encode = (p: SummaryPair): Encoded => ({ source: tokenizer.encode(p.input).ids, target: tokenizer.encode(p.summary).ids });

  let state: State = { fingerprint, epochs: 0, steps: 0, train: [], val: [] };
  const statePath = join(ckpt, 'state.json');
  let weights: BartWeights = initBartWeights(config, options.seed);
  if (existsSync(statePath)) {
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as State;
    if (saved.fingerprint !== fingerprint) throw new Error(`${ckpt}: checkpoint was made with other options; remove it to start over`);
    state = saved;
    weights = await readWeights(join(ckpt, 'weights'));
    log.info('resuming summarizer training', { epochs: state.epochs, steps: state.steps });
  }
  const model = new TrainableBart(tf, config, weights);
  const optimizer = tf.train.adam(options.learningRate, 0.9, 0.98, 1e-9);
  if (state.epochs > 0) await restoreOptimizer(tf, optimizer, join(ckpt, 'weights'));
  const vars = [...model.variables.values()];
  const validation = summaryPairs(VALIDATION_SEED, 256).map(encode);
  log.info('training the summarizer', { vocabulary: vocabSize, parameters: vars.reduce((n, v) => n + v.size, 0), pairsPerEpoch: options.pairsPerEpoch });

  for (let epoch = state.epochs; epoch < options.epochs; epoch++) {
    const pairs = summaryPairs(options.seed * 100003 + epoch, options.pairsPerEpoch).map(encode);
    const batches = lengthBatches(pairs, options.batchSize, new Rng(options.seed + epoch));
    const bar = new Progress({ label: `summarizer epoch ${epoch + 1}/${options.epochs}`, total: pairs.length });
    let sum = 0;
    for (const [b, batch] of batches.entries()) {
      state.steps++;
      // Linear warm-up, then inverse square root decay, as transformers are usually trained.
      const lr = options.learningRate * Math.min(state.steps / options.warmupSteps, Math.sqrt(options.warmupSteps / state.steps));
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const padded = padBatch(config, batch);
      const loss = optimizer.minimize(() => model.loss(padded, options.labelSmoothing) as never, true, vars)!;
      sum += (await loss.data())[0]!;
      loss.dispose();
      bar.tick(batch.length, { loss: sum / (b + 1), lr: lr.toExponential(1) });
    }
    const val = validationLoss(tf, model, config, validation);
    bar.finish({ loss: sum / batches.length, val });
    state.train.push(sum / batches.length);
    state.val.push(val);
    state.epochs = epoch + 1;
    await writeWeights(tf, await model.weights(), join(ckpt, 'weights'), optimizer);
    await writeFile(statePath, JSON.stringify(state));
    await writeFile(join(options.outDir, 'training-curve.png'), curve(state));
  }

  await writeBartModelDir(options.outDir, {
    config,
    weights: await model.weights(),
    tokenizer: tokenizerJson,
    tokenizerConfig: tokenizerConfigJson(config.maxPositions),
    generation: GENERATION,
  });
  await writeFile(join(options.outDir, 'training-curve.png'), curve(state));
  await writeFile(
    join(options.outDir, 'training.json'),
    JSON.stringify(
      {
        data: 'synthetic caption windows → summaries (train/summarizer/summary-pairs.ts)',
        options: { ...options, outDir: undefined },
        steps: state.steps,
        history: { train: state.train, val: state.val },
      },
      null,
      2,
    ) + '\n',
  );
  model.dispose();
  optimizer.dispose();
  return { state, config };
}

/** Batches of pairs of similar length (less padding), in random order. */
function lengthBatches(pairs: Encoded[], size: number, rng: Rng): Encoded[][] {
  const order = rng.shuffle(pairs.map((_, i) => i));
  const batches: Encoded[][] = [];
  const pool = size * 16;
  for (let p = 0; p < order.length; p += pool) {
    const chunk = order.slice(p, p + pool).sort((a, b) => pairs[a]!.source.length - pairs[b]!.source.length);
    for (let b = 0; b < chunk.length; b += size) batches.push(chunk.slice(b, b + size).map((i) => pairs[i]!));
  }
  return rng.shuffle(batches);
}

function validationLoss(tf: Tf, model: TrainableBart, config: BartConfig, pairs: Encoded[]): number {
  let total = 0;
  let tokens = 0;
  for (let b = 0; b < pairs.length; b += 64) {
    const batch = padBatch(config, pairs.slice(b, b + 64));
    const loss = tf.tidy(() => model.loss(batch));
    const n = batch.targetMask.reduce((a, v) => a + v, 0);
    total += loss.dataSync()[0]! * n;
    tokens += n;
    loss.dispose();
  }
  return total / tokens;
}

function curve(state: State): Buffer {
  const points = (ys: number[]) => ys.map((y, i) => [i + 1, y] as const);
  return renderChart([
    {
      title: 'summarizer: next token',
      xLabel: 'epoch',
      yLabel: 'cross-entropy',
      series: [
        { name: 'train', points: points(state.train) },
        { name: 'held out', points: points(state.val) },
      ],
    },
  ]);
}

/** Weights as one binary file plus an index of names and shapes; the optimizer beside them. */
async function writeWeights(tf: Tf, weights: BartWeights, dir: string, optimizer: Parameters<typeof saveOptimizer>[1]): Promise<void> {
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const index = Object.entries(weights).map(([name, w]) => ({ name, dims: w.dims }));
  const total = Object.values(weights).reduce((n, w) => n + w.data.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const w of Object.values(weights)) {
    data.set(w.data, offset);
    offset += w.data.length;
  }
  await writeFile(join(tmp, 'weights.json'), JSON.stringify(index));
  await writeFile(join(tmp, 'weights.bin'), new Uint8Array(data.buffer));
  await saveOptimizer(tf, optimizer, tmp);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

async function readWeights(dir: string): Promise<BartWeights> {
  const index = JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8')) as { name: string; dims: number[] }[];
  const buf = await readFile(join(dir, 'weights.bin'));
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const out: BartWeights = {};
  let offset = 0;
  for (const { name, dims } of index) {
    const size = dims.reduce((a, b) => a * b, 1);
    out[name] = { data: all.slice(offset, offset + size), dims };
    offset += size;
  }
  return out;
}
