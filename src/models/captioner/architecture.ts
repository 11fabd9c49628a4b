/**
 * The embedded captioner's architecture, built from standard TensorFlow.js layers only, so
 * the saved models load anywhere a Keras or tfjs layers model does.
 *
 * Backbone: four 3×3 stride-2 convolutions (16, 32, 64, 64 filters, ReLU), flattened: a small
 *   CNN for the synthetic world that keeps where things are (no global pooling), so colour,
 *   shape and position stay bound together in the feature vector. It is pretrained with a
 *   dense concept head over the flattened map (words and word pairs of the captions). That
 *   teaches colour well and shape poorly; end-to-end fine-tuning with the decoder
 *   (train/finetune.ts) is what teaches shape.
 * Decoder ("merge"): image features → dropout → dense; words → embedding (mask zero) → LSTM
 *   (every position); the two are added, then dense → softmax over the vocabulary. Each
 *   position predicts the next word, so one pass trains on a whole caption.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { Tf } from '../tfjs/tf.js';

export interface BackboneSpec {
  inputHeight: number;
  inputWidth: number;
  filters: readonly number[];
}

export interface DecoderSpec {
  featureSize: number;
  vocabularySize: number;
  embedding: number;
  units: number;
  dropout: number;
}

export const EMBEDDED_BACKBONE: BackboneSpec = { inputHeight: 72, inputWidth: 96, filters: [16, 32, 64, 64] };
export const EMBEDDED_DECODER = { embedding: 64, units: 256, dropout: 0.3 };

/** The backbone, and a training model that puts a concept-detection head on it. */
export function buildBackbone(tf: Tf, spec: BackboneSpec, conceptCount: number): { backbone: LayersModel; pretraining: LayersModel } {
  const input = tf.input({ shape: [spec.inputHeight, spec.inputWidth, 3], name: 'image' });
  let x: SymbolicTensor = input;
  spec.filters.forEach((filters, i) => {
    x = tf.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: 'heNormal', name: `conv${i + 1}` }).apply(x) as SymbolicTensor;
  });
  const features = tf.layers.flatten({ name: 'features' }).apply(x) as SymbolicTensor;
  const backbone = tf.model({ inputs: input, outputs: features, name: 'backbone' });
  const dropped = tf.layers.dropout({ rate: 0.2, name: 'concept_dropout' }).apply(features) as SymbolicTensor;
  const concepts = tf.layers.dense({ units: conceptCount, activation: 'sigmoid', name: 'concepts' }).apply(dropped) as SymbolicTensor;
  const pretraining = tf.model({ inputs: input, outputs: concepts, name: 'backbone_pretraining' });
  return { backbone, pretraining };
}

export function buildDecoder(tf: Tf, spec: DecoderSpec): LayersModel {
  const features = tf.input({ shape: [spec.featureSize], name: 'features' });
  const words = tf.input({ shape: [null], name: 'words' });
  const f1 = tf.layers.dropout({ rate: spec.dropout, name: 'features_dropout' }).apply(features) as SymbolicTensor;
  const f2 = tf.layers.dense({ units: spec.units, activation: 'relu', name: 'features_dense' }).apply(f1) as SymbolicTensor;
  const e1 = tf.layers.embedding({ inputDim: spec.vocabularySize, outputDim: spec.embedding, maskZero: true, name: 'embedding' }).apply(words) as SymbolicTensor;
  const e2 = tf.layers.dropout({ rate: spec.dropout, name: 'words_dropout' }).apply(e1) as SymbolicTensor;
  const seq = tf.layers.lstm({ units: spec.units, returnSequences: true, name: 'lstm' }).apply(e2) as SymbolicTensor;
  const merged = tf.layers.add({ name: 'merge' }).apply([f2, seq]) as SymbolicTensor;
  const hidden = tf.layers.dense({ units: spec.units, activation: 'relu', name: 'hidden' }).apply(merged) as SymbolicTensor;
  const next = tf.layers.dense({ units: spec.vocabularySize, activation: 'softmax', name: 'next_word' }).apply(hidden) as SymbolicTensor;
  return tf.model({ inputs: [features, words], outputs: next, name: 'decoder' });
}
