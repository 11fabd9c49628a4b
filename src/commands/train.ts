/** `livecap train`: train a CNN→LSTM captioner on a Flickr8k-layout dataset. */
import { intFlag, numberFlag, parseFlags, requiredFlag, wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';
import { loadTf } from '../models/tfjs/runtime.js';
import { TRAIN_DEFAULTS, trainCaptioner } from '../train/train-captioner.js';
import type { PixelScale } from '../models/captioner/model-dir.js';
import { formatDuration } from '../util/progress.js';

const HELP = `usage: livecap train --dataset DIR --out MODEL_DIR [options]

  --dataset DIR          Flickr8k layout: Images/ and captions.txt (or Flickr8k.token.txt)
  --out MODEL_DIR        where the model directory is written; a checkpoint there is resumed
  --backbone MODEL_JSON  a pretrained image model (tfjs layers format) instead of training the
                         embedded CNN; --pixel-scale says how it wants pixels (default -1..1)
  --pixel-scale S        0..1 | -1..1 | caffe | torch
  --backbone-epochs N    epochs for the embedded CNN (default ${TRAIN_DEFAULTS.backboneEpochs})
  --backbone-learning-rate X  Adam learning rate for the embedded CNN (default ${TRAIN_DEFAULTS.backboneLearningRate})
  --epochs N             decoder epochs (default ${TRAIN_DEFAULTS.epochs})
  --finetune-epochs N    then train backbone and decoder together on the captions (default ${TRAIN_DEFAULTS.finetuneEpochs})
  --batch-size N         (default ${TRAIN_DEFAULTS.batchSize})
  --learning-rate X      Adam learning rate (default ${TRAIN_DEFAULTS.learningRate})
  --units N              LSTM and dense width (default ${TRAIN_DEFAULTS.units})
  --embedding N          word embedding size (default ${TRAIN_DEFAULTS.embedding})
  --decoder KIND         layers: an LSTM over the pooled feature vector (default); attention: an
                         LSTM with soft attention over the backbone's spatial feature map
  --attention N          attention width of the attention decoder (default ${TRAIN_DEFAULTS.attention})
  --attention-penalty X  doubly stochastic attention penalty (default ${TRAIN_DEFAULTS.attentionPenalty}: off)
  --min-word-count N     drop rarer words from the vocabulary (default ${TRAIN_DEFAULTS.minWordCount})
  --limit N              use at most N training images
  --seed S               shuffling seed (default ${TRAIN_DEFAULTS.seed})`;

export async function trainCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    dataset: { type: 'string' },
    out: { type: 'string' },
    backbone: { type: 'string' },
    'pixel-scale': { type: 'string' },
    'backbone-epochs': { type: 'string' },
    'backbone-learning-rate': { type: 'string' },
    epochs: { type: 'string' },
    'finetune-epochs': { type: 'string' },
    'batch-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    units: { type: 'string' },
    embedding: { type: 'string' },
    decoder: { type: 'string' },
    attention: { type: 'string' },
    'attention-penalty': { type: 'string' },
    'min-word-count': { type: 'string' },
    limit: { type: 'string' },
    seed: { type: 'string' },
  });
  const scale = values['pixel-scale'];
  if (scale !== undefined && !['0..1', '-1..1', 'caffe', 'torch'].includes(scale)) throw new UsageError(`--pixel-scale must be 0..1, -1..1, caffe or torch, got '${scale}'`);
  const decoder = values.decoder ?? TRAIN_DEFAULTS.decoder;
  if (decoder !== 'layers' && decoder !== 'attention') throw new UsageError(`--decoder must be layers or attention, got '${decoder}'`);
  const { tf } = await loadTf();
  const result = await trainCaptioner(tf, {
    datasetDir: requiredFlag('dataset', values.dataset),
    outDir: requiredFlag('out', values.out),
    backbone: values.backbone,
    pixelScale: scale as PixelScale | undefined,
    backboneEpochs: intFlag('backbone-epochs', values['backbone-epochs'], TRAIN_DEFAULTS.backboneEpochs),
    backboneLearningRate: numberFlag('backbone-learning-rate', values['backbone-learning-rate'], TRAIN_DEFAULTS.backboneLearningRate),
    epochs: intFlag('epochs', values.epochs, TRAIN_DEFAULTS.epochs),
    finetuneEpochs: intFlag('finetune-epochs', values['finetune-epochs'], TRAIN_DEFAULTS.finetuneEpochs),
    batchSize: intFlag('batch-size', values['batch-size'], TRAIN_DEFAULTS.batchSize),
    learningRate: numberFlag('learning-rate', values['learning-rate'], TRAIN_DEFAULTS.learningRate),
    units: intFlag('units', values.units, TRAIN_DEFAULTS.units),
    embedding: intFlag('embedding', values.embedding, TRAIN_DEFAULTS.embedding),
    decoder,
    attention: intFlag('attention', values.attention, TRAIN_DEFAULTS.attention),
    attentionPenalty: numberFlag('attention-penalty', values['attention-penalty'], TRAIN_DEFAULTS.attentionPenalty),
    minWordCount: intFlag('min-word-count', values['min-word-count'], TRAIN_DEFAULTS.minWordCount),
    limit: values.limit === undefined ? undefined : intFlag('limit', values.limit),
    seed: intFlag('seed', values.seed, TRAIN_DEFAULTS.seed),
  });
  const last = (xs: number[]) => (xs.length ? xs[xs.length - 1].toFixed(3) : 'n/a');
  console.log(
    `trained on ${result.trainImages} images (${result.valImages} val) in ${formatDuration(result.seconds)}; vocabulary ${result.vocabularySize}; ` +
      `decoder loss ${last(result.history.decoderTrain)} (val ${last(result.history.decoderVal)}); model in ${result.outDir}`,
  );
  return 0;
}
