/**
 * A tiny, hand-checkable CNN→LSTM-layout captioner written as real TensorFlow.js layers
 * models in the exact on-disk format users bring (Keras "merge" convention: fixed-length,
 * pre-padded words input, next-word output), so tests exercise the real loading and decoding
 * path with outcomes computable by hand.
 *
 * Vocabulary: <pad> startseq endseq a b. The decoder is a bigram model: the next word depends
 * only on the last word, with the probabilities in TABLE. The backbone averages the image's
 * colour (3 features); the decoder reads them through a zero kernel, so every image gets the
 * same caption:
 *   greedy:          a (.6) → a (.5) → a → a … never ends: "a a a a" at maxLength 4
 *   beam, width 2:   "b" (P = .4 × .9 = .36) beats "a" (.6 × .4 = .24) and finishes first
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SymbolicTensor } from '@tensorflow/tfjs';
import { fileSaveHandler } from '../../src/models/tfjs/file-io.js';
import type { Tf } from '../../src/models/tfjs/tf.js';

export const WORDS = ['<pad>', 'startseq', 'endseq', 'a', 'b'];
export const LENGTH = 4;
const EPS = 1e-6;
/** TABLE[last][next] = P(next | last). Rows for pad and endseq are never used. */
export const TABLE: number[][] = [
  [EPS, EPS, 1 - 4 * EPS, EPS, EPS],
  [EPS, EPS, EPS, 0.6, 0.4 - 3 * EPS],
  [EPS, EPS, 1 - 4 * EPS, EPS, EPS],
  [EPS, EPS, 0.4, 0.5, 0.1 - 2 * EPS],
  [EPS, EPS, 0.9, 0.05, 0.05 - 2 * EPS],
];

export interface TinyOptions {
  /** Channels of the backbone's input (3 is right; others make a bad model). */
  channels?: number;
  /** Features the backbone yields (3 fits the decoder; others make a mismatch). */
  features?: number;
  /** Vocabulary written to vocab.json (default WORDS). */
  vocabulary?: unknown;
}

export async function writeTinyCaptioner(tf: Tf, options: TinyOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-tiny-'));
  const channels = options.channels ?? 3;
  const featureCount = options.features ?? 3;

  const image = tf.input({ shape: [2, 2, channels], name: 'image' });
  let feat = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(image) as SymbolicTensor;
  if (featureCount !== channels) feat = tf.layers.dense({ units: featureCount, name: 'project' }).apply(feat) as SymbolicTensor;
  const backbone = tf.model({ inputs: image, outputs: feat });

  const v = WORDS.length;
  const features = tf.input({ shape: [3], name: 'features' });
  const words = tf.input({ shape: [LENGTH], name: 'words' });
  const fromImage = tf.layers.dense({ units: v, useBias: false, kernelInitializer: 'zeros', name: 'image_logits' }).apply(features) as SymbolicTensor;
  const embedded = tf.layers.embedding({ inputDim: v, outputDim: v, name: 'embedding' }).apply(words) as SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flat' }).apply(embedded) as SymbolicTensor;
  const last = tf.layers.dense({ units: v, useBias: false, name: 'last_word' });
  const fromWords = last.apply(flat) as SymbolicTensor;
  const logits = tf.layers.add({ name: 'merge' }).apply([fromImage, fromWords]) as SymbolicTensor;
  const probs = tf.layers.activation({ activation: 'softmax', name: 'next_word' }).apply(logits) as SymbolicTensor;
  const decoder = tf.model({ inputs: [features, words], outputs: probs });

  // Embedding row t = log P(· | t); the dense layer copies the last position's row.
  const embedding = decoder.getLayer('embedding');
  embedding.setWeights([tf.tensor2d(TABLE.map((row) => row.map(Math.log)))]);
  const select = new Float32Array(LENGTH * v * v);
  for (let j = 0; j < v; j++) select[((LENGTH - 1) * v + j) * v + j] = 1;
  last.setWeights([tf.tensor2d(select, [LENGTH * v, v])]);

  await backbone.save(fileSaveHandler(tf, join(dir, 'backbone')));
  await decoder.save(fileSaveHandler(tf, join(dir, 'decoder')));
  backbone.dispose();
  decoder.dispose();
  await writeFile(join(dir, 'vocab.json'), JSON.stringify(options.vocabulary ?? WORDS));
  await writeFile(
    join(dir, 'captioner.json'),
    JSON.stringify({
      backbone: { model: 'backbone/model.json', pixelScale: '0..1' },
      decoder: { model: 'decoder/model.json', padding: 'pre' },
      vocabulary: 'vocab.json',
      search: { beamWidth: 2, lengthPenalty: 1 },
    }),
  );
  return dir;
}
