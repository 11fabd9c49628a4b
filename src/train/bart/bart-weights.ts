/**
 * The names and shapes of every BART parameter (Hugging Face's names), and a seeded random
 * initialisation: the starting point for training the embedded summarizer and, as it is, the
 * weights of the tiny test models.
 */
import { Rng } from '../../util/rng.js';
import { POSITION_OFFSET, type BartConfig } from './bart-config.js';
import type { BartWeights } from './bart-onnx.js';

/** Every parameter's name and shape, in a stable order. */
export function bartParameterShapes(c: BartConfig): [string, number[]][] {
  const out: [string, number[]][] = [['model.shared.weight', [c.vocabSize, c.dModel]]];
  const linear = (name: string, outDim: number, inDim: number) => out.push([`${name}.weight`, [outDim, inDim]], [`${name}.bias`, [outDim]]);
  const norm = (name: string) => out.push([`${name}.weight`, [c.dModel]], [`${name}.bias`, [c.dModel]]);
  const attention = (name: string) => {
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) linear(`${name}.${proj}`, c.dModel, c.dModel);
  };
  for (const side of ['encoder', 'decoder'] as const) {
    out.push([`model.${side}.embed_positions.weight`, [c.maxPositions + POSITION_OFFSET, c.dModel]]);
    norm(`model.${side}.layernorm_embedding`);
    const layers = side === 'encoder' ? c.encoderLayers : c.decoderLayers;
    const ffn = side === 'encoder' ? c.encoderFfn : c.decoderFfn;
    for (let i = 0; i < layers; i++) {
      const p = `model.${side}.layers.${i}`;
      attention(`${p}.self_attn`);
      norm(`${p}.self_attn_layer_norm`);
      if (side === 'decoder') {
        attention(`${p}.encoder_attn`);
        norm(`${p}.encoder_attn_layer_norm`);
      }
      linear(`${p}.fc1`, ffn, c.dModel);
      linear(`${p}.fc2`, c.dModel, ffn);
      norm(`${p}.final_layer_norm`);
    }
  }
  out.push(['final_logits_bias', [1, c.vocabSize]]);
  return out;
}

/**
 * BART's initialisation: normal(0, std) for matrices and embeddings, zero biases, unit layer
 * norms. `biasStd` > 0 gives random biases and norms too (tiny test models use it, so that a
 * bias or norm wired wrongly shows up in the outputs).
 */
export function initBartWeights(c: BartConfig, seed: number, std = 0.02, biasStd = 0): BartWeights {
  const rng = new Rng(seed);
  const normal = () => rng.normal();
  const weights: BartWeights = {};
  for (const [name, dims] of bartParameterShapes(c)) {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const isNorm = /layer_?norm/.test(name);
    const isVector = dims.length === 1 || name === 'final_logits_bias';
    for (let i = 0; i < size; i++) {
      if (!isVector) data[i] = normal() * std;
      else if (isNorm && name.endsWith('.weight')) data[i] = 1 + normal() * biasStd;
      else data[i] = normal() * biasStd;
    }
    weights[name] = { data, dims };
  }
  return weights;
}
