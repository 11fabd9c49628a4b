/**
 * The attention decoder ("Show, Attend and Tell"): at every word it looks again at the
 * backbone's spatial feature map, an H×W grid of C-channel cells, instead of one pooled
 * vector. Additive (Bahdanau) attention scores each cell against the LSTM's previous state,
 * the softmax of the scores weights the cells into a context vector, a sigmoid gate of the
 * state scales it, and the context goes into the LSTM with the previous word's embedding:
 *
 *   a_l   = cell_l + p_l                                      a learned position per cell, so
 *                                                            the context says where, not only what
 *   e_t   = embedding[word_t]                                 [E]
 *   s_tl  = v · tanh(W_f a_l + W_h h_{t-1} + b_a)              one score per cell l
 *   α_t   = softmax_l(s_t)                                     where the model looks
 *   z_t   = sigmoid(W_β h_{t-1} + b_β) ⊙ Σ_l α_tl a_l          [C]
 *   i,f,g,o = split([e_t, z_t] K + h_{t-1} R + b)              Keras LSTM gate order
 *   c_t = σ(f) c_{t-1} + σ(i) tanh(g);  h_t = σ(o) tanh(c_t)
 *   y_t   = softmax(W_y relu(W_o [h_t, z_t, e_t] + b_o) + b_y)   the next word
 *
 * with h_0, c_0 = tanh(W [cell_1 … cell_L] + b) from the whole map flattened, so the first
 * state already knows the picture as the merge decoder's feature vector does. tfjs layers has no attention LSTM, so
 * the weights are plain variables and a step is plain tf ops: training unrolls the steps over
 * the caption (teacher forcing, masked), inference runs one step per word for all beams at
 * once, keeping each prefix's LSTM state so a beam step costs one step.
 *
 * Saved as DIR/attention.json + DIR/weights.bin (see ATTENTION_FORMAT below); the captioner
 * manifest names it with `decoder.kind: "attention"`.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '@tensorflow/tfjs';
import { readJsonFile } from '../../util/json-file.js';
import { search, type Hypothesis, type SearchOptions } from './search.js';
import type { Tf } from '../tfjs/tf.js';

export interface AttentionSpec {
  /** The backbone's feature map: [height, width, channels]; features arrive flattened in this order. */
  grid: [number, number, number];
  vocabularySize: number;
  embedding: number;
  units: number;
  /** Width of the additive attention's hidden layer. */
  attention: number;
  dropout: number;
}

/**
 * The weights file's description, DIR/attention.json:
 *   { "format": "livecap-attention-decoder", "version": 1, "spec": AttentionSpec,
 *     "weightsManifest": [{ "paths": ["weights.bin"], "weights": [{ "name", "shape", "dtype" }…] }] }
 * weights.bin is the weights' float32 values in that order, little-endian (as tfjs writes
 * layers models' shards). Names and shapes, with C channels, U units, A attention, E embedding,
 * V vocabulary:
 *   embedding [V, E]; position [L, C] (L = H·W cells, row-major);
 *   init_h/kernel [L·C, U], init_h/bias [U]; init_c/kernel [L·C, U], init_c/bias [U];
 *   attention/features [C, A], attention/hidden [U, A], attention/bias [A], attention/score [A, 1];
 *   gate/kernel [U, C], gate/bias [C]; lstm/kernel [E + C, 4U], lstm/recurrent [U, 4U], lstm/bias [4U];
 *   output/kernel [U + C + E, U], output/bias [U]; next_word/kernel [U, V], next_word/bias [V].
 */
export const ATTENTION_FORMAT = 'livecap-attention-decoder';
export const ATTENTION_FILE = 'attention.json';

function weightShapes(s: AttentionSpec): [string, number[]][] {
  const C = s.grid[2];
  const L = s.grid[0] * s.grid[1];
  const { units: U, attention: A, embedding: E, vocabularySize: V } = s;
  return [
    ['embedding', [V, E]],
    ['position', [L, C]],
    ['init_h/kernel', [L * C, U]],
    ['init_h/bias', [U]],
    ['init_c/kernel', [L * C, U]],
    ['init_c/bias', [U]],
    ['attention/features', [C, A]],
    ['attention/hidden', [U, A]],
    ['attention/bias', [A]],
    ['attention/score', [A, 1]],
    ['gate/kernel', [U, C]],
    ['gate/bias', [C]],
    ['lstm/kernel', [E + C, 4 * U]],
    ['lstm/recurrent', [U, 4 * U]],
    ['lstm/bias', [4 * U]],
    ['output/kernel', [U + C + E, U]],
    ['output/bias', [U]],
    ['next_word/kernel', [U, V]],
    ['next_word/bias', [V]],
  ];
}

let instances = 0;

/** One decoding step's results for a batch. */
export interface StepResult {
  /** Log-probabilities of the next word [B, V]. */
  logProbs: Tensor2D;
  h: Tensor2D;
  c: Tensor2D;
  /** Attention over the grid's cells, row-major [B, H·W]. */
  alpha: Tensor2D;
}

/** A hypothesis with the attention map behind each of its words (and behind the end token when it finished). */
export interface AttendedHypothesis extends Hypothesis {
  alphas: Float32Array[];
}

export class AttentionDecoder {
  readonly weights: ReadonlyMap<string, Variable>;
  private disposed = false;

  private constructor(
    private readonly tf: Tf,
    readonly spec: AttentionSpec,
    weights: Map<string, Variable>,
  ) {
    this.weights = weights;
  }

  get cells(): number {
    return this.spec.grid[0] * this.spec.grid[1];
  }

  get channels(): number {
    return this.spec.grid[2];
  }

  /** Size of one image's flattened feature map. */
  get featureSize(): number {
    return this.cells * this.channels;
  }

  /** A freshly initialised decoder (Glorot-uniform kernels, zero biases, LSTM forget bias 1). */
  static create(tf: Tf, spec: AttentionSpec, seed = 1): AttentionDecoder {
    checkSpec(spec, 'attention decoder');
    const id = ++instances;
    const weights = new Map<string, Variable>();
    let n = 0;
    for (const [name, shape] of weightShapes(spec)) {
      const value = tf.tidy(() => {
        if (name === 'lstm/bias') {
          const u = spec.units;
          return tf.concat([tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])]);
        }
        if (shape.length === 1) return tf.zeros(shape);
        if (name === 'embedding' || name === 'position') return tf.randomUniform(shape, -0.05, 0.05, 'float32', seed * 1000 + n);
        const limit = Math.sqrt(6 / (shape[0] + shape[1]));
        return tf.randomUniform(shape, -limit, limit, 'float32', seed * 1000 + n);
      });
      n++;
      weights.set(name, tf.variable(value, true, `attention_decoder_${id}/${name}`));
      value.dispose();
    }
    return new AttentionDecoder(tf, spec, weights);
  }

  /** Builds a decoder from given weight values (copied); every name and shape must match the spec. */
  static fromValues(tf: Tf, spec: AttentionSpec, values: ReadonlyMap<string, Tensor>, where = 'attention decoder'): AttentionDecoder {
    checkSpec(spec, where);
    const id = ++instances;
    const weights = new Map<string, Variable>();
    const problems: string[] = [];
    for (const [name, shape] of weightShapes(spec)) {
      const t = values.get(name);
      if (!t) problems.push(`weight ${name} is missing`);
      else if (t.shape.join(',') !== shape.join(',')) problems.push(`weight ${name} is [${t.shape.join(', ')}], the spec needs [${shape.join(', ')}]`);
    }
    if (problems.length) throw new Error(`${where}: ${problems.join('; ')}`);
    for (const [name] of weightShapes(spec)) {
      const value = tf.cast(values.get(name)!, 'float32');
      weights.set(name, tf.variable(value, true, `attention_decoder_${id}/${name}`));
      value.dispose();
    }
    return new AttentionDecoder(tf, spec, weights);
  }

  /** Loads DIR/attention.json and its weights; errors name the file and the mismatch. */
  static async load(tf: Tf, file: string): Promise<AttentionDecoder> {
    const json = (await readJsonFile(file, 'attention decoder')) as {
      format?: string;
      spec?: AttentionSpec;
      weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
    };
    if (json.format !== ATTENTION_FORMAT) throw new Error(`${file}: format is ${JSON.stringify(json.format)}, expected "${ATTENTION_FORMAT}"`);
    if (!json.spec || !json.weightsManifest) throw new Error(`${file}: needs "spec" and "weightsManifest"`);
    const dir = join(file, '..');
    const values = new Map<string, Tensor>();
    try {
      for (const group of json.weightsManifest) {
        const parts: Uint8Array[] = [];
        for (const p of group.paths) {
          try {
            parts.push(await readFile(join(dir, p)));
          } catch (err) {
            throw new Error(`${join(dir, p)}: weights named by ${file} are missing or unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
          }
        }
        const bytes = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
        let o = 0;
        for (const b of parts) {
          bytes.set(b, o);
          o += b.length;
        }
        const need = group.weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * 4, 0);
        if (bytes.length < need) throw new Error(`${join(dir, group.paths.join(', '))}: holds ${bytes.length} bytes but ${file} describes ${need}`);
        const map = tf.io.decodeWeights(bytes.buffer, group.weights);
        for (const w of group.weights) values.set(w.name, map[w.name]);
      }
      return AttentionDecoder.fromValues(tf, json.spec, values, file);
    } finally {
      tf.dispose([...values.values()]);
    }
  }

  /** Writes DIR/attention.json and DIR/weights.bin. */
  async save(dir: string): Promise<void> {
    this.assertLive();
    const named = weightShapes(this.spec).map(([name]) => ({ name, tensor: this.weights.get(name)! as Tensor }));
    const { data, specs } = await this.tf.io.encodeWeights(named);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'weights.bin'), new Uint8Array(data));
    const json = { format: ATTENTION_FORMAT, version: 1, spec: this.spec, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] };
    await writeFile(join(dir, ATTENTION_FILE), JSON.stringify(json, null, 2) + '\n');
  }

  /** Sets this decoder's weights to another's of the same spec (restoring a checkpoint). */
  assignFrom(other: AttentionDecoder, where = 'attention decoder'): void {
    if (JSON.stringify(other.spec) !== JSON.stringify(this.spec)) throw new Error(`${where}: holds a decoder of spec ${JSON.stringify(other.spec)}, this one is ${JSON.stringify(this.spec)}`);
    for (const [name, v] of this.weights) v.assign(other.weights.get(name)!);
  }

  /** Trainable variables in a fixed order (the order optimizer state is saved in). */
  trainableVariables(): Variable[] {
    return weightShapes(this.spec).map(([name]) => this.weights.get(name)!);
  }

  private w(name: string): Tensor {
    return this.weights.get(name)!;
  }

  /** Flattened features [B, H·W·C] → cells with their positions added [B, H·W, C]. */
  cellsOf(features: Tensor2D): Tensor3D {
    return this.tf.add(features.reshape([features.shape[0], this.cells, this.channels]), this.w('position')) as Tensor3D;
  }

  /** The cells' side of the attention scores, computed once per image: [B, L, A]. */
  projectCells(cells: Tensor3D): Tensor3D {
    const tf = this.tf;
    const [b, l, c] = cells.shape;
    return tf.add(tf.matMul(cells.reshape([b * l, c]), this.w('attention/features') as Tensor2D), this.w('attention/bias')).reshape([b, l, this.spec.attention]);
  }

  /** The LSTM's first state from the flattened features [B, H·W·C] (positions not added). */
  initialState(features: Tensor2D): { h: Tensor2D; c: Tensor2D } {
    const tf = this.tf;
    return {
      h: tf.tanh(tf.add(tf.matMul(features, this.w('init_h/kernel') as Tensor2D), this.w('init_h/bias'))),
      c: tf.tanh(tf.add(tf.matMul(features, this.w('init_c/kernel') as Tensor2D), this.w('init_c/bias'))),
    };
  }

  /**
   * One step for a batch. `cells` [B or 1, L, C] and `projected` [B or 1, L, A] broadcast over
   * the batch (one image shared by every beam). Returns logits rather than log-probabilities
   * when `logits` is set (training).
   */
  step(cells: Tensor3D, projected: Tensor3D, words: Tensor1D, h: Tensor2D, c: Tensor2D, training = false, logits = false): StepResult {
    const tf = this.tf;
    const { units: U, attention: A, dropout } = this.spec;
    const B = h.shape[0];
    const L = this.cells;
    const C = this.channels;
    const e = tf.gather(this.w('embedding'), words.toInt()) as Tensor2D;
    const hProj = tf.matMul(h, this.w('attention/hidden') as Tensor2D).reshape([B, 1, A]);
    const scores = tf.matMul(tf.tanh(tf.add(projected, hProj)).reshape([B * L, A]), this.w('attention/score') as Tensor2D).reshape([B, L]);
    const alpha = tf.softmax(scores) as Tensor2D;
    // Σ_l α_l a_l: a batched matmul [B, 1, L] × [B, L, C], or one [B, L] × [L, C] for a shared image.
    const context = cells.shape[0] === 1 && B !== 1 ? (tf.matMul(alpha, cells.reshape([L, C])) as Tensor2D) : (tf.matMul(alpha.reshape([B, 1, L]), cells).reshape([B, C]) as Tensor2D);
    const gate = tf.sigmoid(tf.add(tf.matMul(h, this.w('gate/kernel') as Tensor2D), this.w('gate/bias')));
    const z = tf.mul(gate, context) as Tensor2D;
    const x = tf.concat([e, z], 1);
    const gates = tf.add(tf.add(tf.matMul(x, this.w('lstm/kernel') as Tensor2D), tf.matMul(h, this.w('lstm/recurrent') as Tensor2D)), this.w('lstm/bias'));
    const [gi, gf, gg, go] = tf.split(gates, [U, U, U, U], 1);
    const c2 = tf.add(tf.mul(tf.sigmoid(gf), c), tf.mul(tf.sigmoid(gi), tf.tanh(gg))) as Tensor2D;
    const h2 = tf.mul(tf.sigmoid(go), tf.tanh(c2)) as Tensor2D;
    let out: Tensor2D = tf.concat([h2, z, e], 1);
    if (training && dropout > 0) out = tf.dropout(out, dropout) as Tensor2D;
    const hidden = tf.relu(tf.add(tf.matMul(out, this.w('output/kernel') as Tensor2D), this.w('output/bias'))) as Tensor2D;
    const y = tf.add(tf.matMul(hidden, this.w('next_word/kernel') as Tensor2D), this.w('next_word/bias')) as Tensor2D;
    return { logProbs: logits ? y : (tf.logSoftmax(y) as Tensor2D), h: h2, c: c2, alpha };
  }

  /**
   * Teacher-forcing loss of a batch: masked mean cross-entropy of every next word, plus
   * `penalty` × the doubly stochastic term Σ_l (1 − Σ_t α_tl)² per caption (0: off). `words`,
   * `next` and `mask` are [B, T] as teacher-forcing.ts builds them; call inside a gradient.
   */
  loss(features: Tensor2D, words: Tensor2D, next: Tensor2D, mask: Tensor2D, training: boolean, penalty = 0): Tensor {
    const tf = this.tf;
    const cells = this.cellsOf(features);
    const projected = this.projectCells(cells);
    let { h, c } = this.initialState(features);
    const T = words.shape[1];
    const B = words.shape[0];
    const V = this.spec.vocabularySize;
    const wordCols = tf.unstack(words, 1) as Tensor1D[];
    const nextCols = tf.unstack(next, 1) as Tensor1D[];
    const maskCols = tf.unstack(mask, 1) as Tensor1D[];
    let total: Tensor = tf.scalar(0);
    let attended: Tensor = tf.zeros([B, this.cells]);
    for (let t = 0; t < T; t++) {
      const r = this.step(cells, projected, wordCols[t], h, c, training, true);
      const picked = tf.sum(tf.mul(tf.oneHot(nextCols[t].toInt(), V), tf.logSoftmax(r.logProbs)), 1);
      total = tf.add(total, tf.sum(tf.mul(picked, maskCols[t])));
      if (penalty > 0) attended = tf.add(attended, tf.mul(r.alpha, maskCols[t].reshape([B, 1])));
      // Padding keeps the state it had, so a caption's last real step is what its state holds.
      const keep = maskCols[t].reshape([B, 1]);
      h = tf.add(tf.mul(r.h, keep), tf.mul(h, tf.sub(1, keep)));
      c = tf.add(tf.mul(r.c, keep), tf.mul(c, tf.sub(1, keep)));
    }
    let loss = tf.neg(tf.div(total, tf.sum(mask)));
    if (penalty > 0) loss = tf.add(loss, tf.mul(penalty, tf.mean(tf.sum(tf.square(tf.sub(1, attended)), 1))));
    return loss;
  }

  /**
   * Caption search over one image's features [1, H·W·C], reusing the shared greedy/beam
   * search; returns the best hypothesis with the attention map behind each word.
   */
  async search(features: Tensor2D, options: SearchOptions): Promise<AttendedHypothesis> {
    this.assertLive();
    const tf = this.tf;
    const { units: U } = this.spec;
    const L = this.cells;
    const cells = tf.tidy(() => this.cellsOf(features));
    const projected = tf.tidy(() => this.projectCells(cells));
    // After consuming a prefix: its LSTM state and the attention that chose the word after it.
    const states = new Map<string, { h: Float32Array; c: Float32Array; alpha?: Float32Array }>();
    try {
      const init = tf.tidy(() => this.initialState(features));
      states.set('', { h: (await init.h.data()) as Float32Array, c: (await init.c.data()) as Float32Array });
      tf.dispose([init.h, init.c]);
      const run = async (prefixes: readonly number[][]): Promise<Float32Array[]> => {
        const B = prefixes.length;
        const h = new Float32Array(B * U);
        const c = new Float32Array(B * U);
        const words = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          const p = prefixes[b];
          let parent = states.get(p.slice(0, -1).join(','));
          if (!parent) {
            // Not reached through the search's own prefixes: step the ancestors first.
            await run([p.slice(0, -1)]);
            parent = states.get(p.slice(0, -1).join(','))!;
          }
          h.set(parent.h, b * U);
          c.set(parent.c, b * U);
          words[b] = p[p.length - 1];
        }
        const r = tf.tidy(() => {
          const s = this.step(cells, projected, tf.tensor1d(words, 'int32'), tf.tensor2d(h, [B, U]), tf.tensor2d(c, [B, U]));
          return [s.logProbs, s.h, s.c, s.alpha];
        });
        const [lp, h2, c2, a] = (await Promise.all(r.map((t) => t.data()))) as Float32Array[];
        tf.dispose(r);
        const V = lp.length / B;
        prefixes.forEach((p, b) => {
          states.set(p.join(','), { h: h2.slice(b * U, (b + 1) * U), c: c2.slice(b * U, (b + 1) * U), alpha: a.slice(b * L, (b + 1) * L) });
        });
        return prefixes.map((_, b) => lp.subarray(b * V, (b + 1) * V));
      };
      const best = await search(run, options);
      const alphas: Float32Array[] = [];
      const path = [options.start, ...best.tokens];
      const steps = best.finished ? path.length : path.length - 1;
      for (let k = 1; k <= steps; k++) alphas.push(states.get(path.slice(0, k).join(','))?.alpha ?? new Float32Array(L));
      return { ...best, alphas };
    } finally {
      tf.dispose([cells, projected]);
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('attention decoder was disposed');
  }

  /** Releases the weights; safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.weights.values()) v.dispose();
  }
}

function checkSpec(spec: AttentionSpec, where: string): void {
  const problems: string[] = [];
  const pos = (v: unknown, name: string) => {
    if (!(Number.isInteger(v) && (v as number) > 0)) problems.push(`${name} must be a positive whole number, got ${JSON.stringify(v)}`);
  };
  if (!Array.isArray(spec.grid) || spec.grid.length !== 3) problems.push(`grid must be [height, width, channels], got ${JSON.stringify(spec.grid)}`);
  else spec.grid.forEach((g, i) => pos(g, `grid[${i}]`));
  pos(spec.vocabularySize, 'vocabularySize');
  pos(spec.embedding, 'embedding');
  pos(spec.units, 'units');
  pos(spec.attention, 'attention');
  if (!(typeof spec.dropout === 'number' && spec.dropout >= 0 && spec.dropout < 1)) problems.push(`dropout must be in [0, 1), got ${JSON.stringify(spec.dropout)}`);
  if (problems.length) throw new Error(`${where}: ${problems.join('; ')}`);
}
