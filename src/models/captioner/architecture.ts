/**
 * The embedded captioner's architecture, built from standard TensorFlow.js layers only, so
 * the saved models load anywhere a Keras or tfjs layers model does.
 *
 * Backbone: four 3×3 stride-2 convolutions (16, 32, 64, 64 filters, ReLU), flattened: a small
 *   CNN for the synthetic world that keeps where things are (no global pooling), so colour,
 *   shape and position stay bound together in the feature vector. Its pretraining head scores
 *   every concept in every cell of the last feature map (a 1×1 convolution) and takes the
 *   maximum over cells: "is there a red star anywhere". Sharing one detector across positions
 *   learns shapes far faster and generalises better than a dense layer over the flattened map.
 * Decoder ("merge"): image features → dropout → dense; words → embedding (mask zero) → LSTM
 *   (every position); the two are added, then dense → softmax over the vocabulary. Each
 *   position predicts the next word, so one pass trains on a whole caption.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { Tf } from '../tfjs/runtime.js';

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
    x = tf.layers
      .conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: 'heNormal', name: `conv${i + 1}` })
      .apply(x) as SymbolicTensor;
  });
  const features = tf.layers.flatten({ name: 'features' }).apply(x) as SymbolicTensor;
  const backbone = tf.model({ inputs: input, outputs: features, name: 'backbone' });
  const dropped = tf.layers.dropout({ rate: 0.1, name: 'concept_dropout' }).apply(x) as SymbolicTensor;
  // Concepts are rare: start every cell's score low (sigmoid(-4) ≈ 0.02) so early steps are not
  // spent pushing hundreds of logits down.
  const perCell = tf.layers
    .conv2d({ filters: conceptCount, kernelSize: 1, biasInitializer: tf.initializers.constant({ value: -4 }), name: 'concept_map' })
    .apply(dropped) as SymbolicTensor;
  const anywhere = tf.layers.globalMaxPooling2d({ name: 'concept_anywhere' }).apply(perCell) as SymbolicTensor;
  const concepts = tf.layers.activation({ activation: 'sigmoid', name: 'concepts' }).apply(anywhere) as SymbolicTensor;
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
