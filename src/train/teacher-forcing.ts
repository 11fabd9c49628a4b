/**
 * Teacher forcing for a per-position decoder: each caption's tokens become the words fed in
 * (all but the last) and the next words to predict (all but the first), padded after the end,
 * with a mask so padding costs nothing.
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { Tf } from '../models/tfjs/tf.js';

export interface TeacherForcing {
  words: Tensor2D;
  next: Tensor2D;
  mask: Tensor2D;
}

export function teacherForcing(tf: Tf, captions: readonly (readonly number[])[]): TeacherForcing {
  const t = Math.max(...captions.map((c) => c.length)) - 1;
  const words = new Float32Array(captions.length * t);
  const next = new Int32Array(captions.length * t);
  const mask = new Float32Array(captions.length * t);
  captions.forEach((tokens, k) => {
    for (let j = 0; j + 1 < tokens.length; j++) {
      words[k * t + j] = tokens[j];
      next[k * t + j] = tokens[j + 1];
      mask[k * t + j] = 1;
    }
  });
  return {
    words: tf.tensor2d(words, [captions.length, t]),
    next: tf.tensor2d(next, [captions.length, t], 'int32'),
    mask: tf.tensor2d(mask, [captions.length, t]),
  };
}

/** Masked mean cross-entropy of the next word at every position; `probs` is [batch, time, vocab]. */
export function maskedCrossEntropy(tf: Tf, probs: Tensor, next: Tensor, mask: Tensor, vocab: number): Tensor {
  const picked = tf.sum(tf.mul(tf.oneHot(next as never, vocab), tf.log(tf.maximum(probs, 1e-7))), -1);
  return tf.neg(tf.div(tf.sum(tf.mul(picked, mask)), tf.sum(mask)));
}
