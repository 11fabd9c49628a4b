/**
 * BART's forward pass written out in plain JavaScript loops, straight from the paper and
 * Hugging Face's modeling_bart.py, with no ONNX and no shared code with the exporter. Tests run
 * search over it to get the token sequences the ONNX models must reproduce.
 */
import { POSITION_OFFSET, type BartConfig } from '../../src/train/bart/bart-config.js';
import type { BartWeights } from '../../src/train/bart/bart-onnx.js';
import type { Stepper } from '../../src/models/seq2seq/search.js';

import { ReferenceWeights, attend, erf, layerNorm, type Vec } from './reference-math.js';

export class ReferenceBart extends ReferenceWeights {
  constructor(
    readonly c: BartConfig,
    w: BartWeights,
  ) {
    super(w);
  }

  private norm(x: Vec, name: string): Vec {
    return layerNorm(x, this.p(`${name}.weight`), this.p(`${name}.bias`), 1e-5);
  }

  private act(x: Vec): Vec {
    return this.c.activation === 'relu' ? x.map((v) => Math.max(0, v)) : x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
  }

  private embed(ids: readonly number[], side: 'encoder' | 'decoder'): Vec[] {
    const d = this.c.dModel;
    const tok = this.p('model.shared.weight');
    const pos = this.p(`model.${side}.embed_positions.weight`);
    const scale = this.c.scaleEmbedding ? Math.sqrt(d) : 1;
    return ids.map((id, t) => {
      const x = new Float64Array(d);
      for (let i = 0; i < d; i++) x[i] = tok[id * d + i]! * scale + pos[(t + POSITION_OFFSET) * d + i]!;
      return this.norm(x, `model.${side}.layernorm_embedding`);
    });
  }

  /** Multi-head attention of queries `xs` over `ys`; `visible(t, s)` says whether query t sees key s. */
  private attention(xs: Vec[], ys: Vec[], name: string, heads: number, visible: (t: number, s: number) => boolean): Vec[] {
    const hd = this.c.dModel / heads;
    const qs = xs.map((x) => this.linear(x, `${name}.q_proj`).map((v) => v * hd ** -0.5));
    const ks = ys.map((y) => this.linear(y, `${name}.k_proj`));
    const vs = ys.map((y) => this.linear(y, `${name}.v_proj`));
    return attend(qs, ks, vs, heads, visible).map((ctx) => this.linear(ctx, `${name}.out_proj`));
  }

  private add(a: Vec[], b: Vec[]): Vec[] {
    return a.map((x, t) => x.map((v, i) => v + b[t]![i]!));
  }

  encode(ids: readonly number[]): Vec[] {
    let x = this.embed(ids, 'encoder');
    for (let l = 0; l < this.c.encoderLayers; l++) {
      const p = `model.encoder.layers.${l}`;
      x = this.add(
        x,
        this.attention(x, x, `${p}.self_attn`, this.c.encoderHeads, () => true),
      ).map((v) => this.norm(v, `${p}.self_attn_layer_norm`));
      x = x.map((v) =>
        this.norm(
          v.map((u, i) => u + this.linear(this.act(this.linear(v, `${p}.fc1`)), `${p}.fc2`)[i]!),
          `${p}.final_layer_norm`,
        ),
      );
    }
    return x;
  }

  /** Next-token logits after `ids` (decoder start token first). */
  nextLogits(encoded: Vec[], ids: readonly number[]): Float32Array {
    let x = this.embed(ids, 'decoder');
    for (let l = 0; l < this.c.decoderLayers; l++) {
      const p = `model.decoder.layers.${l}`;
      x = this.add(
        x,
        this.attention(x, x, `${p}.self_attn`, this.c.decoderHeads, (t, s) => s <= t),
      ).map((v) => this.norm(v, `${p}.self_attn_layer_norm`));
      x = this.add(
        x,
        this.attention(x, encoded, `${p}.encoder_attn`, this.c.decoderHeads, () => true),
      ).map((v) => this.norm(v, `${p}.encoder_attn_layer_norm`));
      x = x.map((v) =>
        this.norm(
          v.map((u, i) => u + this.linear(this.act(this.linear(v, `${p}.fc1`)), `${p}.fc2`)[i]!),
          `${p}.final_layer_norm`,
        ),
      );
    }
    const last = x.at(-1)!;
    const tok = this.p('model.shared.weight');
    const bias = this.p('final_logits_bias');
    const d = this.c.dModel;
    const logits = new Float32Array(this.c.vocabSize);
    for (let v = 0; v < logits.length; v++) {
      let s = bias[v]!;
      for (let i = 0; i < d; i++) s += tok[v * d + i]! * last[i]!;
      logits[v] = s;
    }
    return logits;
  }

  /** A search stepper that recomputes every step from scratch (no cache to get wrong). */
  stepper(inputIds: readonly number[], rows: number): Stepper {
    const encoded = this.encode(inputIds);
    let sequences: number[][] = Array.from({ length: rows }, () => []);
    const vocab = this.c.vocabSize;
    return {
      vocabSize: vocab,
      step: async (tokens, parents) => {
        if (parents) sequences = parents.map((p) => sequences[p]!);
        sequences = sequences.map((s, r) => [...s, tokens[r]!]);
        const out = new Float32Array(rows * vocab);
        sequences.forEach((s, r) => out.set(this.nextLogits(encoded, s), r * vocab));
        return out;
      },
    };
  }
}
