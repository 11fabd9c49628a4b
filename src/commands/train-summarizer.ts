/** `livecap train-summarizer`: the embedded summarizer (a small BART) from synthetic caption windows. */
import { intFlag, numberFlag, parseFlags, requiredFlag, wantsHelp } from '../util/flags.js';
import { loadTf } from '../models/tfjs/runtime.js';
import { SUMMARIZER_TRAIN_DEFAULTS as D, trainSummarizer } from '../train/summarizer/train-summarizer.js';

const HELP = `usage: livecap train-summarizer --out MODEL_DIR [--epochs ${D.epochs}] [--pairs ${D.pairsPerEpoch}] [--batch-size ${D.batchSize}]
       [--learning-rate ${D.learningRate}] [--d-model ${D.dModel}] [--layers ${D.layers}] [--heads ${D.heads}] [--ffn ${D.ffn}] [--seed ${D.seed}]

  Trains a BART summarizer on synthetic pairs (the captions of a window of scenes → the
  summary of those scenes), fresh pairs every epoch, and writes MODEL_DIR as a Hugging Face
  ONNX export (config.json, tokenizer.json, onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx).
  Resumable from MODEL_DIR/checkpoint after any epoch; raising --epochs continues.`;

export async function trainSummarizerCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, {
    out: { type: 'string' },
    epochs: { type: 'string' },
    pairs: { type: 'string' },
    'batch-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    'd-model': { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    ffn: { type: 'string' },
    seed: { type: 'string' },
  });
  const { tf } = await loadTf();
  const { state } = await trainSummarizer(tf, {
    ...D,
    outDir: requiredFlag('out', values.out),
    epochs: intFlag('epochs', values.epochs, D.epochs),
    pairsPerEpoch: intFlag('pairs', values.pairs, D.pairsPerEpoch),
    batchSize: intFlag('batch-size', values['batch-size'], D.batchSize),
    learningRate: numberFlag('learning-rate', values['learning-rate'], D.learningRate),
    dModel: intFlag('d-model', values['d-model'], D.dModel),
    layers: intFlag('layers', values.layers, D.layers),
    heads: intFlag('heads', values.heads, D.heads),
    ffn: intFlag('ffn', values.ffn, D.ffn),
    seed: intFlag('seed', values.seed, D.seed),
  });
  console.log(`trained ${values.out}: ${state.steps} steps, held-out loss ${state.val.at(-1)?.toFixed(3)}`);
  return 0;
}
