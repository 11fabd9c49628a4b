/** The TensorFlow.js API as loaded at run time (whichever backend it got). */
export type Tf = typeof import('@tensorflow/tfjs');
