/**
 * Makes tiny BART models in the exact Hugging Face ONNX export layout (config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json, onnx/*.onnx), with seeded
 * random weights, a byte-level BPE tokenizer trained on a few captions, and random biases and
 * layer norms so that any mis-wired parameter changes the outputs.
 *
 *   node dist/test/helpers/tiny-bart.js OUT_DIR [merged|split]   writes one to look at
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BartConfig } from '../../src/train/bart/bart-config.js';
import type { BartWeights } from '../../src/train/bart/bart-onnx.js';
import { initBartWeights } from '../../src/train/bart/bart-weights.js';
import { writeBartModelDir } from '../../src/train/bart/write-bart-dir.js';
import type { WeightVariant } from '../../src/models/onnx/weight-variants.js';
import { tokenizerConfigJson, trainByteLevelBpe } from '../../src/train/tokenizer/byte-level-bpe.js';

export const TINY_CORPUS = [
  'a red circle on the grass',
  'a large blue star in the sky on the left',
  'three small yellow crosses on the snow',
  'the video shows a green square then a purple triangle and finally a white star',
  'two orange circles on the sand',
];

export interface TinyBart {
  dir: string;
  config: BartConfig;
  weights: BartWeights;
}

/** The tiny models' shape: two layers each side, uneven head counts and widths, so that no
 * parameter could be swapped with another of the same shape unnoticed. */
export function tinyBartConfig(vocabSize: number, activation: BartConfig['activation']): BartConfig {
  return {
    vocabSize,
    dModel: 16,
    encoderLayers: 2,
    decoderLayers: 2,
    encoderHeads: 2,
    decoderHeads: 4,
    encoderFfn: 32,
    decoderFfn: 24,
    maxPositions: 64,
    scaleEmbedding: true,
    activation,
    padTokenId: 1,
    bosTokenId: 0,
    eosTokenId: 2,
    decoderStartTokenId: 2,
  };
}

export async function makeTinyBart(
  options: { layout?: 'merged' | 'split'; seed?: number; dir?: string; generation?: Record<string, unknown>; variants?: readonly WeightVariant[] } = {},
): Promise<TinyBart> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'livecap-tiny-bart-')));
  const tokenizer = trainByteLevelBpe(TINY_CORPUS, { vocabSize: 320 });
  const vocabSize = Object.keys((tokenizer.model as { vocab: object }).vocab).length;
  const config = tinyBartConfig(vocabSize, 'gelu');
  const weights = initBartWeights(config, options.seed ?? 7, 0.5, 0.3);
  await writeBartModelDir(dir, {
    config,
    weights,
    tokenizer,
    tokenizerConfig: tokenizerConfigJson(config.maxPositions),
    generation: { max_length: 12, num_beams: 3, no_repeat_ngram_size: 2, length_penalty: 1.0, early_stopping: true, ...options.generation },
    layout: options.layout,
    variants: options.variants,
  });
  return { dir, config, weights };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, layout] = process.argv.slice(2);
  if (!out) throw new Error('usage: tiny-bart.js OUT_DIR [merged|split]');
  await makeTinyBart({ dir: out, layout: layout === 'split' ? 'split' : 'merged' });
  console.log(`wrote ${out}`);
}
