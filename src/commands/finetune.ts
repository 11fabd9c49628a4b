/** `livecap finetune`: train an existing captioner's backbone and decoder together on a dataset. */
import { intFlag, numberFlag, parseFlags, requiredFlag, wantsHelp } from '../util/flags.js';
import { loadTf } from '../models/tfjs/runtime.js';
import { finetuneCaptioner, FINETUNE_DEFAULTS } from '../train/finetune.js';

const HELP = `usage: livecap finetune --model MODEL_DIR --dataset DIR --epochs N [--batch-size N] [--learning-rate X] [--seed S]

  Trains the backbone and the decoder of MODEL_DIR together on the captions of DIR (Flickr8k
  layout), in place. Resumable from MODEL_DIR/checkpoint/finetune-DATASET; raising --epochs
  continues. Fine-tuning on another dataset afterwards is a further stage. Either decoder kind
  fine-tunes (the manifest's decoder.kind: a layers decoder, or an attention decoder).`;

export async function finetuneCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    model: { type: 'string' },
    dataset: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    seed: { type: 'string' },
  });
  const { tf } = await loadTf();
  const losses = await finetuneCaptioner(tf, {
    modelDir: requiredFlag('model', values.model),
    datasetDir: requiredFlag('dataset', values.dataset),
    epochs: intFlag('epochs', values.epochs),
    batchSize: intFlag('batch-size', values['batch-size'], FINETUNE_DEFAULTS.batchSize),
    learningRate: numberFlag('learning-rate', values['learning-rate'], FINETUNE_DEFAULTS.learningRate),
    seed: intFlag('seed', values.seed, 1),
  });
  console.log(`fine-tuned ${values.model}: loss per epoch ${losses.map((l) => l.toFixed(3)).join(', ')}`);
  return 0;
}
