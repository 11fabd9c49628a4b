/**
 * BART in TensorFlow.js ops, for training: the same computation as Hugging Face's
 * modeling_bart.py (learned positions with BART's offset, post-layer-norm blocks, tied output
 * embedding plus final_logits_bias), over padded batches. Its parameters carry Hugging Face's
 * names, so the trained weights go straight to the ONNX exporter (models/bart/bart-onnx.ts).
 *
 * Linear weights are held as [in, out] while training (x · W needs no transpose, which the
 * WebAssembly backend does slowly) and handed back as PyTorch's [out, in].
 */
import type { Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import { POSITION_OFFSET, type BartConfig } from '../bart/bart-config.js';
import type { BartWeights } from '../bart/bart-onnx.js';
import type { Tf } from '../../models/tfjs/tf.js';

/** A padded batch: ids [B, S] and [B, T]; masks are 1 for real tokens and 0 for padding. */
export interface BartBatch {
  source: Int32Array;
  sourceLength: number;
  /** Decoder inputs: the start token, then the labels shifted right. */
  decoderInput: Int32Array;
  labels: Int32Array;
  targetLength: number;
  rows: number;
  sourceMask: Float32Array;
  targetMask: Float32Array;
}

const isLinearWeight = (name: string, dims: readonly number[]) => dims.length === 2 && /\.(q_proj|k_proj|v_proj|out_proj|fc1|fc2)\.weight$/.test(name);

export class TrainableBart {
  readonly variables = new Map<string, Variable>();

  constructor(
    private readonly tf: Tf,
    readonly config: BartConfig,
    weights: BartWeights,
  ) {
    for (const [name, w] of Object.entries(weights)) {
      const t = tf.tensor(w.data, w.dims);
      const held = isLinearWeight(name, w.dims) ? tf.transpose(t) : t;
      this.variables.set(name, tf.variable(held, true));
      if (held !== t) t.dispose();
      held.dispose();
    }
  }

  private v(name: string): Variable {
    const t = this.variables.get(name);
    if (!t) throw new Error(`BART parameter missing: ${name}`);
    return t;
  }

  /** The weights in Hugging Face's layout, for export. */
  async weights(): Promise<BartWeights> {
    const out: BartWeights = {};
    for (const [name, v] of this.variables) {
      const t = isLinearWeight(name, v.shape) ? this.tf.transpose(v) : v;
      out[name] = { data: (await t.data()) as Float32Array, dims: t.shape };
      if (t !== v) t.dispose();
    }
    return out;
  }

  private linear(x: Tensor, name: string): Tensor {
    const tf = this.tf;
    const w = this.v(`${name}.weight`);
    const [inDim, outDim] = w.shape as [number, number];
    const lead = x.shape.slice(0, -1);
    return tf.add(tf.matMul(x.reshape([-1, inDim]) as Tensor2D, w as unknown as Tensor2D), this.v(`${name}.bias`)).reshape([...lead, outDim]);
  }

  private norm(x: Tensor, name: string): Tensor {
    const tf = this.tf;
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), this.v(`${name}.weight`)), this.v(`${name}.bias`));
  }

  private act(x: Tensor): Tensor {
    if (this.config.activation !== 'relu') throw new Error('training supports the relu activation only');
    return this.tf.relu(x);
  }

  private embed(ids: Tensor, length: number, side: 'encoder' | 'decoder'): Tensor {
    const tf = this.tf;
    const d = this.config.dModel;
    let tokens = tf.gather(this.v('model.shared.weight'), ids.flatten()).reshape([-1, length, d]);
    if (this.config.scaleEmbedding) tokens = tf.mul(tokens, Math.sqrt(d));
    const positions = tf.slice(this.v(`model.${side}.embed_positions.weight`), [POSITION_OFFSET, 0], [length, d]);
    return this.norm(tf.add(tokens, positions), `model.${side}.layernorm_embedding`);
  }

  /** Multi-head attention; `bias` [B or 1, 1, T or 1, S] is 0 where a key is visible and very negative where not. */
  private attention(x: Tensor, y: Tensor, name: string, heads: number, bias: Tensor): Tensor {
    const tf = this.tf;
    const [b, t, d] = x.shape as [number, number, number];
    const s = y.shape[1]!;
    const hd = d / heads;
    const split = (z: Tensor, len: number) => tf.transpose(z.reshape([b, len, heads, hd]), [0, 2, 1, 3]);
    const q = split(tf.mul(this.linear(x, `${name}.q_proj`), hd ** -0.5), t);
    const k = split(this.linear(y, `${name}.k_proj`), s);
    const v = split(this.linear(y, `${name}.v_proj`), s);
    const scores = tf.add(tf.matMul(q, tf.transpose(k, [0, 1, 3, 2])), bias);
    const context = tf.matMul(tf.softmax(scores), v);
    return this.linear(tf.transpose(context, [0, 2, 1, 3]).reshape([b, t, d]), `${name}.out_proj`);
  }

  private feedForward(x: Tensor, p: string): Tensor {
    return this.norm(this.tf.add(x, this.linear(this.act(this.linear(x, `${p}.fc1`)), `${p}.fc2`)), `${p}.final_layer_norm`);
  }

  /** Next-token logits at every decoder position, [B, T, vocab]. */
  logits(batch: BartBatch): Tensor {
    const tf = this.tf;
    const c = this.config;
    const { rows: b, sourceLength: s, targetLength: t } = batch;
    const keyBias = tf.mul(tf.sub(1, tf.tensor(batch.sourceMask, [b, 1, 1, s])), -1e9);
    const causal = tf.tensor(
      Float32Array.from({ length: t * t }, (_, i) => (i % t <= Math.floor(i / t) ? 0 : -1e9)),
      [1, 1, t, t],
    );

    let x = this.embed(tf.tensor(batch.source, [b, s], 'int32'), s, 'encoder');
    for (let l = 0; l < c.encoderLayers; l++) {
      const p = `model.encoder.layers.${l}`;
      x = this.norm(tf.add(x, this.attention(x, x, `${p}.self_attn`, c.encoderHeads, keyBias)), `${p}.self_attn_layer_norm`);
      x = this.feedForward(x, p);
    }
    let y = this.embed(tf.tensor(batch.decoderInput, [b, t], 'int32'), t, 'decoder');
    for (let l = 0; l < c.decoderLayers; l++) {
      const p = `model.decoder.layers.${l}`;
      y = this.norm(tf.add(y, this.attention(y, y, `${p}.self_attn`, c.decoderHeads, causal)), `${p}.self_attn_layer_norm`);
      y = this.norm(tf.add(y, this.attention(y, x, `${p}.encoder_attn`, c.decoderHeads, keyBias)), `${p}.encoder_attn_layer_norm`);
      y = this.feedForward(y, p);
    }
    const flat = tf.matMul(y.reshape([-1, c.dModel]) as Tensor2D, this.v('model.shared.weight') as unknown as Tensor2D, false, true);
    return tf.add(flat, this.v('final_logits_bias')).reshape([b, t, c.vocabSize]);
  }

  /** Mean cross-entropy over the real (unpadded) target tokens, with label smoothing. */
  loss(batch: BartBatch, labelSmoothing = 0): Tensor {
    const tf = this.tf;
    const v = this.config.vocabSize;
    const logits = this.logits(batch).reshape([-1, v]);
    const logProbs = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.tensor(batch.labels, [batch.labels.length], 'int32'), v).toFloat();
    const target = labelSmoothing > 0 ? tf.add(tf.mul(onehot, 1 - labelSmoothing), labelSmoothing / v) : onehot;
    const perToken = tf.neg(tf.sum(tf.mul(target, logProbs), -1));
    const mask = tf.tensor(batch.targetMask, [batch.targetMask.length]);
    return tf.div(tf.sum(tf.mul(perToken, mask)), tf.sum(mask));
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}

/**
 * A padded batch from token sequences. `target` is what the model should write (labels, <s>
 * first and </s> last, as the tokenizer encodes it); the decoder sees it shifted right after
 * the decoder start token.
 */
export function padBatch(config: BartConfig, pairs: readonly { source: readonly number[]; target: readonly number[] }[]): BartBatch {
  const rows = pairs.length;
  const sourceLength = Math.max(...pairs.map((p) => p.source.length));
  const targetLength = Math.max(...pairs.map((p) => p.target.length));
  const batch: BartBatch = {
    rows,
    sourceLength,
    targetLength,
    source: new Int32Array(rows * sourceLength).fill(config.padTokenId),
    sourceMask: new Float32Array(rows * sourceLength),
    decoderInput: new Int32Array(rows * targetLength).fill(config.padTokenId),
    labels: new Int32Array(rows * targetLength).fill(config.padTokenId),
    targetMask: new Float32Array(rows * targetLength),
  };
  pairs.forEach((p, r) => {
    p.source.forEach((id, i) => {
      batch.source[r * sourceLength + i] = id;
      batch.sourceMask[r * sourceLength + i] = 1;
    });
    p.target.forEach((id, i) => {
      batch.labels[r * targetLength + i] = id;
      batch.targetMask[r * targetLength + i] = 1;
      batch.decoderInput[r * targetLength + i] = i === 0 ? config.decoderStartTokenId : p.target[i - 1]!;
    });
  });
  return batch;
}
