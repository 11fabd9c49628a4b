/**
 * Fine-tuning a captioner end to end: the backbone and the decoder are trained together on
 * the captioning loss, so the backbone learns what the captions need (which shape, not only
 * that there is one). Works on any model directory whose backbone is trainable; resumable
 * from MODEL_DIR/checkpoint/finetune-DATASET after every epoch. Writes the tuned backbone and
 * decoder back into the model directory. Fine-tuning again on another dataset is a new stage
 * that starts from the model as the last stage left it; training.json keeps every stage.
 * An attention decoder (models/captioner/attention.ts) is fine-tuned the same way, with the
 * backbone's feature map flowing into it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Tensor, SymbolicTensor, Variable } from '@tensorflow/tfjs';
import { CnnLstmCaptioner, preprocess } from '../models/captioner/captioner.js';
import { Progress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { log } from '../util/log.js';
import { readCaptionDataset } from './caption-dataset.js';
import { loadPixels } from './pixels.js';
import { hasAttentionCheckpoint, hasCheckpoint, restoreAttentionState, restoreTrainingState, saveAttentionState, saveTrainingState } from './checkpoint.js';
import { maskedCrossEntropy, teacherForcing } from './teacher-forcing.js';
import { trainingCurve } from './training-curve.js';
import type { Tf } from '../models/tfjs/tf.js';

export interface FinetuneOptions {
  modelDir: string;
  datasetDir: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  limit?: number;
}

export const FINETUNE_DEFAULTS = { batchSize: 32, learningRate: 3e-4 } as const;

export async function finetuneCaptioner(tf: Tf, options: FinetuneOptions): Promise<number[]> {
  const captioner = await CnnLstmCaptioner.load(tf, options.modelDir);
  const { backbone, decoder, attention, vocabulary, shapes, manifest } = captioner;
  if (!shapes.perPosition) throw new Error(`${options.modelDir}: fine-tuning needs a per-position decoder (output [batch, time, vocabulary])`);
  const dataset = await readCaptionDataset(options.datasetDir);
  let train = dataset.images.filter((i) => i.split === 'train');
  if (options.limit) train = train.slice(0, options.limit);
  const stage = basename(options.datasetDir.replace(/\/+$/, ''));
  const ckpt = join(options.modelDir, 'checkpoint', `finetune-${stage}`);
  const statePath = join(ckpt, 'state.json');
  const state: { epochs: number; losses: number[] } = existsSync(statePath) ? JSON.parse(await readFile(statePath, 'utf8')) : { epochs: 0, losses: [] };

  const { inputWidth: w, inputHeight: h } = shapes;
  const optimizer = tf.train.adam(options.learningRate);
  // The loss of a batch, the variables it trains, and how a checkpoint is written and read.
  let lossOf: (x: Tensor, t: ReturnType<typeof teacherForcing>) => Tensor;
  let vars: Variable[];
  let saveCheckpoint: () => Promise<void>;
  if (attention) {
    vars = [...backbone.trainableWeights.map((v) => v.read() as Variable), ...attention.trainableVariables()];
    lossOf = (x, t) => {
      const map = backbone.apply(x, { training: true }) as Tensor;
      return attention.loss(map.reshape([map.shape[0], -1]), t.words, t.next, t.mask, true);
    };
    saveCheckpoint = () => saveAttentionState(tf, attention, backbone, optimizer, ckpt);
    if (state.epochs > 0 && hasAttentionCheckpoint(ckpt)) await restoreAttentionState(tf, attention, backbone, optimizer, ckpt);
  } else {
    const image = tf.input({ shape: [h, w, 3], name: 'finetune_image' });
    const words = tf.input({ shape: [null], name: 'finetune_words' });
    const features = backbone.apply(image) as SymbolicTensor;
    const inputs: SymbolicTensor[] = [];
    inputs[shapes.featureInput] = features;
    inputs[shapes.wordsInput] = words;
    const joint = tf.model({ inputs: [image, words], outputs: decoder!.apply(inputs) as SymbolicTensor, name: 'captioner_finetune' });
    if (state.epochs > 0 && hasCheckpoint(ckpt)) await restoreTrainingState(tf, joint, optimizer, ckpt);
    vars = joint.trainableWeights.map((v) => v.read() as Variable);
    lossOf = (x, t) => maskedCrossEntropy(tf, joint.apply([x, t.words], { training: true }) as Tensor, t.next, t.mask, vocabulary.size);
    saveCheckpoint = () => saveTrainingState(tf, joint, optimizer, ckpt);
  }
  const pixels =
    state.epochs < options.epochs
      ? await loadPixels(
          dataset.imagesDir,
          train.map((i) => i.name),
          w,
          h,
          'fine-tune: loading images',
        )
      : new Uint8Array(0);
  const size = w * h * 3;
  const captions = train.map((img) => img.captions.map((c) => vocabulary.encode(c)));
  log.info('fine-tuning backbone and decoder together', { images: train.length, epochs: options.epochs, from: state.epochs });
  for (let epoch = state.epochs; epoch < options.epochs; epoch++) {
    const rng = new Rng(options.seed * 104729 + epoch);
    const order = rng.shuffle(train.map((_, i) => i));
    const bar = new Progress({ label: `fine-tune epoch ${epoch + 1}/${options.epochs}`, total: order.length });
    let sum = 0;
    let batches = 0;
    for (let b = 0; b < order.length; b += options.batchSize) {
      const idx = order.slice(b, b + options.batchSize);
      const frames = idx.map((i) => ({ width: w, height: h, data: pixels.subarray(i * size, (i + 1) * size) }));
      const x = tf.tensor4d(preprocess(frames, w, h, manifest.backbone.pixelScale), [idx.length, h, w, 3]);
      // One caption per image per step, a different phrasing each epoch.
      const t = teacherForcing(
        tf,
        idx.map((i) => captions[i][rng.int(0, captions[i].length - 1)]),
      );
      const loss = optimizer.minimize(() => lossOf(x, t) as never, true, vars)!;
      sum += (await loss.data())[0];
      batches++;
      tf.dispose([x, t.words, t.next, t.mask, loss]);
      bar.tick(idx.length, { loss: sum / batches });
    }
    bar.finish();
    state.epochs = epoch + 1;
    state.losses.push(sum / batches);
    await saveCheckpoint();
    await mkdir(ckpt, { recursive: true });
    await writeFile(statePath, JSON.stringify(state));
  }
  await captioner.saveWeights(options.modelDir);
  await recordHistory(options.modelDir, stage, state.losses);
  optimizer.dispose();
  captioner.dispose();
  return state.losses;
}

interface FinetuneStage {
  dataset: string;
  losses: number[];
}

/** Records a stage's losses in MODEL_DIR/training.json and redraws the training curve. */
async function recordHistory(modelDir: string, dataset: string, losses: number[]): Promise<void> {
  const file = join(modelDir, 'training.json');
  const report = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as { history?: Parameters<typeof trainingCurve>[0]; finetuneStages?: FinetuneStage[] }) : {};
  const earlier = report.finetuneStages ?? (report.history?.finetune?.length ? [{ dataset: '(earlier)', losses: report.history.finetune }] : []);
  const stages = earlier.filter((s) => s.dataset !== dataset);
  stages.push({ dataset, losses });
  const history = { backbone: [], decoderTrain: [], decoderVal: [], ...report.history, finetune: stages.flatMap((s) => s.losses) };
  await writeFile(file, JSON.stringify({ ...report, finetuneStages: stages, history }, null, 2) + '\n');
  await writeFile(join(modelDir, 'training-curve.png'), trainingCurve(history));
}
