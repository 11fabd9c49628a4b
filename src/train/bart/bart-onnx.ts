/**
 * Writes a BART model as the three ONNX graphs of a Hugging Face export:
 *   encoder_model.onnx          input_ids, attention_mask → last_hidden_state
 *   decoder_model.onnx          input_ids, encoder_attention_mask, encoder_hidden_states →
 *                               logits, present.N.{decoder,encoder}.{key,value}
 *   decoder_model_merged.onnx   the same plus past_key_values.N.* and use_cache_branch: with the
 *                               cache, only the new tokens are run and cross-attention keys and
 *                               values are taken from the past instead of recomputed
 * With `inputsEmbeds` (the language model of a Florence-2 export) the encoder and decoders take
 * `inputs_embeds` [B, T, d_model] instead of `input_ids`, and embed_tokens.onnx
 * (input_ids → inputs_embeds, the scaled token embedding) makes them from token ids.
 * Weights use Hugging Face's parameter names (`model.encoder.layers.0.fc1.weight`, PyTorch
 * `[out, in]` layout for linear layers), so a checkpoint's tensors map over one to one.
 * The math is BART's: post-layer-norm blocks, learned positions offset by 2, an embedding
 * layer norm, q scaled by head_dim^-0.5, exact GELU, logits tied to the token embedding plus
 * `final_logits_bias`.
 */
import { Graph, encodeModel, float, type Dim } from '../../models/onnx/onnx-graph.js';
import { writeWeightVariant, type VariantOptions, type WeightVariant } from '../../models/onnx/weight-variants.js';
import { DTYPE_SUFFIX } from '../../models/seq2seq/dtype.js';
import { POSITION_OFFSET, type BartConfig } from './bart-config.js';

export interface WeightTensor {
  data: Float32Array;
  dims: number[];
}
export type BartWeights = Record<string, WeightTensor>;

const NEG_INF = -1e9;

/** What a graph reads: token ids, or embeddings made by embed_tokens.onnx. */
type Input = { kind: 'ids' | 'embeds'; name: string };

function textInput(g: Graph, c: BartConfig, embeds: boolean, length: string): Input {
  return embeds ? { kind: 'embeds', name: g.input('inputs_embeds', 'float32', ['batch_size', length, c.dModel]) } : { kind: 'ids', name: g.input('input_ids', 'int64', ['batch_size', length]) };
}

/** Graph building with the model's weights at hand; each weight is stored once per graph. */
class BartGraph {
  readonly g: Graph;
  private readonly stored = new Map<string, string>();

  constructor(
    name: string,
    private readonly c: BartConfig,
    private readonly w: BartWeights,
  ) {
    this.g = new Graph(name);
  }

  weight(name: string): string {
    let id = this.stored.get(name);
    if (!id) {
      const t = this.w[name];
      if (!t) throw new Error(`BART weight '${name}' is missing`);
      id = this.g.constant(name, t.data, t.dims);
      this.stored.set(name, id);
    }
    return id;
  }

  /** A PyTorch linear layer's weight, transposed to [in, out] for MatMul. */
  private transposed(name: string): string {
    const key = `${name}#t`;
    let id = this.stored.get(key);
    if (!id) {
      const t = this.w[name];
      if (!t) throw new Error(`BART weight '${name}' is missing`);
      const [out, inp] = t.dims as [number, number];
      const data = new Float32Array(out * inp);
      for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) data[i * out + o] = t.data[o * inp + i]!;
      id = this.g.constant(`${name}_t`, data, [inp, out]);
      this.stored.set(key, id);
    }
    return id;
  }

  linear(x: string, prefix: string): string {
    return this.g.op('Add', [this.g.op('MatMul', [x, this.transposed(`${prefix}.weight`)]), this.weight(`${prefix}.bias`)]);
  }

  layerNorm(x: string, prefix: string): string {
    return this.g.op('LayerNormalization', [x, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)], { axis: -1, epsilon: float(1e-5) });
  }

  activation(x: string): string {
    const g = this.g;
    if (this.c.activation === 'relu') return g.op('Relu', [x]);
    // Exact GELU: x · ½ · (1 + erf(x / √2)).
    const erf = g.op('Erf', [g.op('Div', [x, g.scalar('sqrt2', Math.SQRT2)])]);
    return g.op('Mul', [g.op('Mul', [x, g.scalar('half', 0.5)]), g.op('Add', [erf, g.scalar('one', 1)])]);
  }

  /** Element `index` of `shape(x)`, as a 0-d int64. */
  dim(x: string, index: number): string {
    return this.g.op('Gather', [this.g.op('Shape', [x]), this.g.int64('dim_index', index)], { axis: 0 });
  }

  int(value: number): string {
    return this.g.int64(`int_${value}`, value);
  }

  /** [B, T, D] → [B, H, T, hd] */
  splitHeads(x: string, heads: number): string {
    const hd = this.c.dModel / heads;
    const r = this.g.op('Reshape', [x, this.g.int64s('heads_shape', [0, 0, heads, hd])]);
    return this.g.op('Transpose', [r], { perm: [0, 2, 1, 3] });
  }

  /** Scaled dot-product attention over prepared keys/values; `mask` is added to the scores. */
  attend(q: string, k: string, v: string, mask: string, prefix: string, heads: number): string {
    const g = this.g;
    const hd = this.c.dModel / heads;
    const scores = g.op('Add', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), mask]);
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.int64s('merge_shape', [0, 0, heads * hd])]);
    return this.linear(merged, `${prefix}.out_proj`);
  }

  query(x: string, prefix: string, heads: number): string {
    const scaled = this.g.op('Mul', [this.linear(x, `${prefix}.q_proj`), this.g.scalar('scaling', (this.c.dModel / heads) ** -0.5)]);
    return this.splitHeads(scaled, heads);
  }

  keyValue(x: string, prefix: string, heads: number): [string, string] {
    return [this.splitHeads(this.linear(x, `${prefix}.k_proj`), heads), this.splitHeads(this.linear(x, `${prefix}.v_proj`), heads)];
  }

  /** The token embedding, scaled if configured: [B, T] ids → [B, T, d_model]. */
  tokens(ids: string): string {
    const g = this.g;
    const tokens = g.op('Gather', [this.weight('model.shared.weight'), ids], { axis: 0 });
    return this.c.scaleEmbedding ? g.op('Mul', [tokens, g.scalar('embed_scale', Math.sqrt(this.c.dModel))]) : tokens;
  }

  /** Token embeddings plus learned positions from `start`, then the embedding layer norm. */
  embed(input: Input, side: 'encoder' | 'decoder', start: string): string {
    const g = this.g;
    const tokens = input.kind === 'ids' ? this.tokens(input.name) : input.name;
    const length = this.dim(input.name, 1);
    const from = g.op('Add', [start, this.int(POSITION_OFFSET)]);
    const positions = g.op('Range', [from, g.op('Add', [from, length]), this.int(1)]);
    const pos = g.op('Gather', [this.weight(`model.${side}.embed_positions.weight`), positions], { axis: 0 });
    return this.layerNorm(g.op('Add', [tokens, pos]), `model.${side}.layernorm_embedding`);
  }

  /** attention_mask [B, S] (1 keep, 0 pad) → additive [B, 1, 1, S]. */
  paddingMask(mask: string): string {
    const g = this.g;
    const m = g.op('Cast', [mask], { to: 1 });
    const additive = g.op('Mul', [g.op('Sub', [g.scalar('one', 1), m]), g.scalar('neg_inf', NEG_INF)]);
    return g.op('Unsqueeze', [additive, g.int64s('axes_1_2', [1, 2])]);
  }

  feedForward(x: string, prefix: string): string {
    return this.linear(this.activation(this.linear(x, `${prefix}.fc1`)), `${prefix}.fc2`);
  }
}

function encoderGraph(c: BartConfig, w: BartWeights, embeds: boolean): Graph {
  const b = new BartGraph('encoder', c, w);
  const g = b.g;
  const ids = textInput(g, c, embeds, 'encoder_sequence_length');
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'encoder_sequence_length']);
  let x = b.embed(ids, 'encoder', b.int(0));
  const additive = b.paddingMask(mask);
  for (let i = 0; i < c.encoderLayers; i++) {
    const p = `model.encoder.layers.${i}`;
    const [k, v] = b.keyValue(x, `${p}.self_attn`, c.encoderHeads);
    x = b.layerNorm(g.op('Add', [x, b.attend(b.query(x, `${p}.self_attn`, c.encoderHeads), k, v, additive, `${p}.self_attn`, c.encoderHeads)]), `${p}.self_attn_layer_norm`);
    x = b.layerNorm(g.op('Add', [x, b.feedForward(x, p)]), `${p}.final_layer_norm`);
  }
  g.output(x, 'last_hidden_state', 'float32', ['batch_size', 'encoder_sequence_length', c.dModel]);
  return g;
}

const kvShape = (c: BartConfig, length: string): Dim[] => ['batch_size', c.decoderHeads, length, c.dModel / c.decoderHeads];

/**
 * `plain`: no cache inputs; `merged`: cache inputs and use_cache_branch; `with-past`: cache
 * inputs always used, only the self-attention cache returned (the older split export).
 */
type DecoderKind = 'plain' | 'merged' | 'with-past';

function decoderGraph(c: BartConfig, w: BartWeights, kind: DecoderKind, embeds: boolean): Graph {
  const withCache = kind !== 'plain';
  const b = new BartGraph(`decoder_${kind}`, c, w);
  const g = b.g;
  const ids = textInput(g, c, embeds, 'decoder_sequence_length');
  const encoderMask = g.input('encoder_attention_mask', 'int64', ['batch_size', 'encoder_sequence_length']);
  const encoderStates = g.input('encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length', c.dModel]);
  const past: { key: string; value: string; encKey: string; encValue: string }[] = [];
  if (withCache) {
    for (let i = 0; i < c.decoderLayers; i++) {
      const n = `past_key_values.${i}`;
      past.push({
        key: g.input(`${n}.decoder.key`, 'float32', kvShape(c, 'past_decoder_sequence_length')),
        value: g.input(`${n}.decoder.value`, 'float32', kvShape(c, 'past_decoder_sequence_length')),
        encKey: g.input(`${n}.encoder.key`, 'float32', kvShape(c, 'encoder_sequence_length_out')),
        encValue: g.input(`${n}.encoder.value`, 'float32', kvShape(c, 'encoder_sequence_length_out')),
      });
    }
  }
  const useCache = kind === 'merged' ? g.input('use_cache_branch', 'bool', [1]) : undefined;
  const pastLength = withCache ? b.dim(past[0]!.key, 2) : b.int(0);

  // Causal mask over [past + new] keys: new token t (absolute position P + t) sees keys ≤ P + t.
  const length = b.dim(ids.name, 1);
  const total = g.op('Add', [pastLength, length]);
  const rows = g.op('Unsqueeze', [g.op('Range', [pastLength, total, b.int(1)]), g.int64s('axis_1', [1])]);
  const cols = g.op('Unsqueeze', [g.op('Range', [b.int(0), total, b.int(1)]), g.int64s('axis_0', [0])]);
  const causal = g.op('Where', [g.op('Greater', [cols, rows]), g.scalar('neg_inf', NEG_INF), g.scalar('zero', 0)]);
  const crossMask = b.paddingMask(encoderMask);

  // Cross-attention keys/values: from the past when the cache is used, else from the encoder.
  const cross: [string, string][] = [];
  if (kind === 'with-past') {
    for (const p of past) cross.push([p.encKey, p.encValue]);
  } else if (kind === 'merged') {
    const shape = kvShape(c, 'encoder_sequence_length_out');
    const fromPast = new Graph('cross_from_past');
    const fromEncoder = new BartGraph('cross_from_encoder', c, w);
    const outs: string[] = [];
    for (let i = 0; i < c.decoderLayers; i++) {
      const [k, v] = fromEncoder.keyValue(encoderStates, `model.decoder.layers.${i}.encoder_attn`, c.decoderHeads);
      fromEncoder.g.output(k, `cross_${i}_key_encoder`, 'float32', shape);
      fromEncoder.g.output(v, `cross_${i}_value_encoder`, 'float32', shape);
      fromPast.output(past[i]!.encKey, `cross_${i}_key_past`, 'float32', shape);
      fromPast.output(past[i]!.encValue, `cross_${i}_value_past`, 'float32', shape);
      outs.push(`cross_${i}_key`, `cross_${i}_value`);
    }
    const results = g.opMulti('If', [useCache!], outs, { then_branch: fromPast, else_branch: fromEncoder.g });
    for (let i = 0; i < c.decoderLayers; i++) cross.push([results[2 * i]!, results[2 * i + 1]!]);
  } else {
    for (let i = 0; i < c.decoderLayers; i++) cross.push(b.keyValue(encoderStates, `model.decoder.layers.${i}.encoder_attn`, c.decoderHeads));
  }

  let x = b.embed(ids, 'decoder', pastLength);
  const presents: { name: string; value: string; length: string }[] = [];
  for (let i = 0; i < c.decoderLayers; i++) {
    const p = `model.decoder.layers.${i}`;
    let [k, v] = b.keyValue(x, `${p}.self_attn`, c.decoderHeads);
    if (withCache) {
      k = g.op('Concat', [past[i]!.key, k], { axis: 2 });
      v = g.op('Concat', [past[i]!.value, v], { axis: 2 });
    }
    const selfOut = b.attend(b.query(x, `${p}.self_attn`, c.decoderHeads), k, v, causal, `${p}.self_attn`, c.decoderHeads);
    x = b.layerNorm(g.op('Add', [x, selfOut]), `${p}.self_attn_layer_norm`);
    const [ck, cv] = cross[i]!;
    const crossOut = b.attend(b.query(x, `${p}.encoder_attn`, c.decoderHeads), ck, cv, crossMask, `${p}.encoder_attn`, c.decoderHeads);
    x = b.layerNorm(g.op('Add', [x, crossOut]), `${p}.encoder_attn_layer_norm`);
    x = b.layerNorm(g.op('Add', [x, b.feedForward(x, p)]), `${p}.final_layer_norm`);
    presents.push(
      { name: `present.${i}.decoder.key`, value: k, length: 'past_decoder_sequence_length + 1' },
      { name: `present.${i}.decoder.value`, value: v, length: 'past_decoder_sequence_length + 1' },
      { name: `present.${i}.encoder.key`, value: ck, length: 'encoder_sequence_length_out' },
      { name: `present.${i}.encoder.value`, value: cv, length: 'encoder_sequence_length_out' },
    );
  }
  const logits = g.op('Add', [g.op('MatMul', [x, b.g.op('Transpose', [b.weight('model.shared.weight')], { perm: [1, 0] })]), b.weight('final_logits_bias')]);
  g.output(logits, 'logits', 'float32', ['batch_size', 'decoder_sequence_length', c.vocabSize]);
  for (const p of presents) if (kind !== 'with-past' || p.name.includes('.decoder.')) g.output(p.value, p.name, 'float32', kvShape(c, p.length));
  return g;
}

/**
 * The ONNX files of a Hugging Face BART export, as bytes keyed by file name: the encoder,
 * decoder_model.onnx, and either decoder_model_merged.onnx (today's layout) or
 * decoder_with_past_model.onnx (the older split layout). With `variant`, the files of that
 * variant instead (encoder_model_quantized.onnx… for q8; weight-variants.ts).
 */
export function exportBartOnnx(
  config: BartConfig,
  weights: BartWeights,
  layout: 'merged' | 'split' = 'merged',
  variant?: WeightVariant,
  options: VariantOptions & { inputsEmbeds?: boolean } = {},
): Record<string, Uint8Array> {
  const suffix = variant ? DTYPE_SUFFIX[variant] : '';
  const encode = (g: Graph) => {
    if (variant) writeWeightVariant(g, variant, options);
    return encodeModel(g);
  };
  const cached = layout === 'merged' ? 'decoder_model_merged' : 'decoder_with_past_model';
  const embeds = options.inputsEmbeds ?? false;
  const files: Record<string, Uint8Array> = {
    [`encoder_model${suffix}.onnx`]: encode(encoderGraph(config, weights, embeds)),
    [`decoder_model${suffix}.onnx`]: encode(decoderGraph(config, weights, 'plain', embeds)),
    [`${cached}${suffix}.onnx`]: encode(decoderGraph(config, weights, layout === 'merged' ? 'merged' : 'with-past', embeds)),
  };
  if (embeds) files[`embed_tokens${suffix}.onnx`] = encode(embedTokensGraph(config, weights));
  return files;
}

/** embed_tokens.onnx: input_ids [B, T] → inputs_embeds [B, T, d_model]. */
function embedTokensGraph(c: BartConfig, w: BartWeights): Graph {
  const b = new BartGraph('embed_tokens', c, w);
  const ids = b.g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  b.g.output(b.tokens(ids), 'inputs_embeds', 'float32', ['batch_size', 'sequence_length', c.dModel]);
  return b.g;
}
