/**
 * ViT and GPT-2 (with cross-attention) in plain JavaScript loops, from Hugging Face's
 * modeling_vit.py and modeling_gpt2.py, sharing no code with the ONNX graphs of
 * tiny-vit-gpt2.ts. Tests search over it for the captions the ONNX export must reproduce.
 */
import type { BartWeights } from '../../src/train/bart/bart-onnx.js';
import type { Stepper } from '../../src/models/seq2seq/search.js';
import type { VitGpt2Config } from './tiny-vit-gpt2.js';

import { ReferenceWeights, attend, erf, layerNorm, type Vec } from './reference-math.js';

export class ReferenceVitGpt2 extends ReferenceWeights {
  constructor(
    readonly c: VitGpt2Config,
    w: BartWeights,
  ) {
    super(w);
  }

  /** y = x W + b with W [in, out] (GPT-2 Conv1D). */
  private conv1d(x: Vec, name: string): Vec {
    const W = this.p(`${name}.weight`);
    const b = this.p(`${name}.bias`);
    const out = Float64Array.from(b);
    for (let i = 0; i < x.length; i++) for (let o = 0; o < out.length; o++) out[o]! += x[i]! * W[i * out.length + o]!;
    return out;
  }

  private norm(x: Vec, name: string, eps: number): Vec {
    return layerNorm(x, this.p(`${name}.weight`), this.p(`${name}.bias`), eps);
  }

  /** Attention with scores divided by √(head size), as ViT and GPT-2 do. */
  private attention(qs: Vec[], ks: Vec[], vs: Vec[], heads: number, visible: (t: number, s: number) => boolean): Vec[] {
    const scale = Math.sqrt(qs[0]!.length / heads);
    return attend(
      qs.map((q) => q.map((v) => v / scale)),
      ks,
      vs,
      heads,
      visible,
    );
  }

  /** pixel_values [3, H, W] channels first → last_hidden_state rows. */
  encode(pixels: Float32Array): Vec[] {
    const { imageSize: size, patch, hidden: h } = this.c;
    const grid = size / patch;
    const conv = this.p('encoder.embeddings.patch_embeddings.projection.weight');
    const convBias = this.p('encoder.embeddings.patch_embeddings.projection.bias');
    const pos = this.p('encoder.embeddings.position_embeddings');
    const rows: Vec[] = [Float64Array.from(this.p('encoder.embeddings.cls_token'))];
    for (let gy = 0; gy < grid; gy++) {
      for (let gx = 0; gx < grid; gx++) {
        const v = new Float64Array(h);
        for (let o = 0; o < h; o++) {
          let s = convBias[o]!;
          for (let ch = 0; ch < 3; ch++) {
            for (let ky = 0; ky < patch; ky++) {
              for (let kx = 0; kx < patch; kx++) s += conv[((o * 3 + ch) * patch + ky) * patch + kx]! * pixels[(ch * size + gy * patch + ky) * size + gx * patch + kx]!;
            }
          }
          v[o] = s;
        }
        rows.push(v);
      }
    }
    let x = rows.map((r, t) => r.map((v, i) => v + pos[t * h + i]!));
    for (let l = 0; l < this.c.vitLayers; l++) {
      const p = `encoder.encoder.layer.${l}`;
      const a = x.map((r) => this.norm(r, `${p}.layernorm_before`, 1e-12));
      const [q, k, v] = ['query', 'key', 'value'].map((n) => a.map((r) => this.linear(r, `${p}.attention.attention.${n}`)));
      const ctx = this.attention(q!, k!, v!, this.c.vitHeads, () => true);
      x = x.map((r, t) => r.map((u, i) => u + this.linear(ctx[t]!, `${p}.attention.output.dense`)[i]!));
      x = x.map((r) => {
        const m = this.linear(this.norm(r, `${p}.layernorm_after`, 1e-12), `${p}.intermediate.dense`).map((u) => 0.5 * u * (1 + erf(u / Math.SQRT2)));
        const out = this.linear(m, `${p}.output.dense`);
        return r.map((u, i) => u + out[i]!);
      });
    }
    return x.map((r) => this.norm(r, 'encoder.layernorm', 1e-12));
  }

  /** Next-token logits after `ids` (the start token first), attending to `encoded`. */
  nextLogits(encoded: Vec[], ids: readonly number[]): Float32Array {
    const h = this.c.hidden;
    const wte = this.p('decoder.transformer.wte.weight');
    const wpe = this.p('decoder.transformer.wpe.weight');
    let x: Vec[] = ids.map((id, t) => Float64Array.from({ length: h }, (_, i) => wte[id * h + i]! + wpe[t * h + i]!));
    for (let l = 0; l < this.c.gptLayers; l++) {
      const p = `decoder.transformer.h.${l}`;
      const qkv = x.map((r) => this.conv1d(this.norm(r, `${p}.ln_1`, 1e-5), `${p}.attn.c_attn`));
      const part = (k: number) => qkv.map((r) => r.slice(k * h, (k + 1) * h));
      const self = this.attention(part(0), part(1), part(2), this.c.gptHeads, (t, s) => s <= t);
      x = x.map((r, t) => r.map((u, i) => u + this.conv1d(self[t]!, `${p}.attn.c_proj`)[i]!));
      const cq = x.map((r) => this.conv1d(this.norm(r, `${p}.ln_cross_attn`, 1e-5), `${p}.crossattention.q_attn`));
      const ckv = encoded.map((r) => this.conv1d(r, `${p}.crossattention.c_attn`));
      const cross = this.attention(
        cq,
        ckv.map((r) => r.slice(0, h)),
        ckv.map((r) => r.slice(h)),
        this.c.gptHeads,
        () => true,
      );
      x = x.map((r, t) => r.map((u, i) => u + this.conv1d(cross[t]!, `${p}.crossattention.c_proj`)[i]!));
      x = x.map((r) => {
        const m = this.conv1d(this.norm(r, `${p}.ln_2`, 1e-5), `${p}.mlp.c_fc`).map((u) => 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3))));
        const out = this.conv1d(m, `${p}.mlp.c_proj`);
        return r.map((u, i) => u + out[i]!);
      });
    }
    const last = this.norm(x.at(-1)!, 'decoder.transformer.ln_f', 1e-5);
    return Float32Array.from({ length: this.c.vocabSize }, (_, v) => {
      let s = 0;
      for (let i = 0; i < h; i++) s += wte[v * h + i]! * last[i]!;
      return s;
    });
  }

  /** A search stepper that recomputes every step from scratch. */
  stepper(pixels: Float32Array, rows: number): Stepper {
    const encoded = this.encode(pixels);
    let sequences: number[][] = Array.from({ length: rows }, () => []);
    return {
      vocabSize: this.c.vocabSize,
      step: async (tokens, parents) => {
        if (parents) sequences = parents.map((p) => sequences[p]!);
        sequences = sequences.map((s, r) => [...s, tokens[r]!]);
        const out = new Float32Array(rows * this.c.vocabSize);
        sequences.forEach((s, r) => out.set(this.nextLogits(encoded, s), r * this.c.vocabSize));
        return out;
      },
    };
  }
}
