/**
 * Makes tiny ViT-GPT2 image captioners in the Hugging Face vision-encoder-decoder ONNX export
 * layout (config.json with encoder/decoder sections, generation_config.json,
 * preprocessor_config.json, tokenizer.json, onnx/encoder_model.onnx and
 * onnx/decoder_model_merged.onnx with a self-attention key/value cache), with seeded random
 * weights under Hugging Face's parameter names. vit-gpt2-reference.ts recomputes them
 * independently.
 *
 *   node dist/test/helpers/tiny-vit-gpt2.js OUT_DIR     writes one to look at
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, encodeModel, float } from '../../src/models/onnx/onnx-graph.js';
import { writeWeightVariant, type WeightVariant } from '../../src/models/onnx/weight-variants.js';
import { DTYPE_SUFFIX } from '../../src/models/seq2seq/dtype.js';
import type { BartWeights } from '../../src/train/bart/bart-onnx.js';
import { trainByteLevelBpe } from '../../src/train/tokenizer/byte-level-bpe.js';
import { Rng } from '../../src/util/rng.js';
import { TINY_CORPUS } from './tiny-bart.js';

export interface VitGpt2Config {
  imageSize: number;
  patch: number;
  hidden: number;
  vitLayers: number;
  vitHeads: number;
  vitFfn: number;
  vocabSize: number;
  gptLayers: number;
  gptHeads: number;
  positions: number;
  /** <|endoftext|>: start, end and padding, as in GPT-2. */
  eos: number;
  mean: number[];
  std: number[];
}

export interface TinyVitGpt2 {
  dir: string;
  config: VitGpt2Config;
  weights: BartWeights;
}

export function vitGpt2Shapes(c: VitGpt2Config): [string, number[]][] {
  const h = c.hidden;
  const out: [string, number[]][] = [
    ['encoder.embeddings.cls_token', [1, 1, h]],
    ['encoder.embeddings.position_embeddings', [1, (c.imageSize / c.patch) ** 2 + 1, h]],
    ['encoder.embeddings.patch_embeddings.projection.weight', [h, 3, c.patch, c.patch]],
    ['encoder.embeddings.patch_embeddings.projection.bias', [h]],
  ];
  const pair = (name: string, w: number[], b: number[]) => out.push([`${name}.weight`, w], [`${name}.bias`, b]);
  for (let i = 0; i < c.vitLayers; i++) {
    const p = `encoder.encoder.layer.${i}`;
    pair(`${p}.layernorm_before`, [h], [h]);
    for (const q of ['query', 'key', 'value']) pair(`${p}.attention.attention.${q}`, [h, h], [h]);
    pair(`${p}.attention.output.dense`, [h, h], [h]);
    pair(`${p}.layernorm_after`, [h], [h]);
    pair(`${p}.intermediate.dense`, [c.vitFfn, h], [c.vitFfn]);
    pair(`${p}.output.dense`, [h, c.vitFfn], [h]);
  }
  pair('encoder.layernorm', [h], [h]);
  out.push(['decoder.transformer.wte.weight', [c.vocabSize, h]], ['decoder.transformer.wpe.weight', [c.positions, h]]);
  for (let i = 0; i < c.gptLayers; i++) {
    const p = `decoder.transformer.h.${i}`;
    pair(`${p}.ln_1`, [h], [h]);
    pair(`${p}.attn.c_attn`, [h, 3 * h], [3 * h]);
    pair(`${p}.attn.c_proj`, [h, h], [h]);
    pair(`${p}.ln_cross_attn`, [h], [h]);
    pair(`${p}.crossattention.q_attn`, [h, h], [h]);
    pair(`${p}.crossattention.c_attn`, [h, 2 * h], [2 * h]);
    pair(`${p}.crossattention.c_proj`, [h, h], [h]);
    pair(`${p}.ln_2`, [h], [h]);
    pair(`${p}.mlp.c_fc`, [h, 4 * h], [4 * h]);
    pair(`${p}.mlp.c_proj`, [4 * h, h], [h]);
  }
  pair('decoder.transformer.ln_f', [h], [h]);
  return out;
}

function randomWeights(c: VitGpt2Config, seed: number): BartWeights {
  const rng = new Rng(seed);
  const normal = () => rng.normal();
  const weights: BartWeights = {};
  for (const [name, dims] of vitGpt2Shapes(c)) {
    const size = dims.reduce((a, b) => a * b, 1);
    const isNormScale = /(ln_|layernorm)[^.]*\.weight$/.test(name);
    weights[name] = { data: Float32Array.from({ length: size }, () => (isNormScale ? 1 : 0) + normal() * (isNormScale ? 0.2 : 0.4)), dims };
  }
  return weights;
}

const NEG = -1e9;

class Builder {
  constructor(
    readonly g: Graph,
    private readonly w: BartWeights,
  ) {}

  private stored = new Map<string, string>();
  weight(name: string, transform?: (t: BartWeights[string]) => BartWeights[string]): string {
    const key = transform ? `${name}#t` : name;
    let id = this.stored.get(key);
    if (!id) {
      const t = this.w[name];
      if (!t) throw new Error(`missing weight ${name}`);
      const v = transform ? transform(t) : t;
      id = this.g.constant(key.replace('#', '_'), v.data, v.dims);
      this.stored.set(key, id);
    }
    return id;
  }

  /** PyTorch Linear ([out, in]): x · Wᵀ + b */
  linear(x: string, name: string): string {
    const transpose = (t: BartWeights[string]) => {
      const [o, i] = t.dims as [number, number];
      const data = new Float32Array(o * i);
      for (let r = 0; r < o; r++) for (let k = 0; k < i; k++) data[k * o + r] = t.data[r * i + k]!;
      return { data, dims: [i, o] };
    };
    return this.g.op('Add', [this.g.op('MatMul', [x, this.weight(`${name}.weight`, transpose)]), this.weight(`${name}.bias`)]);
  }

  /** GPT-2 Conv1D ([in, out]): x · W + b */
  conv1d(x: string, name: string): string {
    return this.g.op('Add', [this.g.op('MatMul', [x, this.weight(`${name}.weight`)]), this.weight(`${name}.bias`)]);
  }

  norm(x: string, name: string, eps: number): string {
    return this.g.op('LayerNormalization', [x, this.weight(`${name}.weight`), this.weight(`${name}.bias`)], { axis: -1, epsilon: float(eps) });
  }

  heads(x: string, heads: number, hd: number): string {
    return this.g.op('Transpose', [this.g.op('Reshape', [x, this.g.int64s('split_heads', [0, 0, heads, hd])])], { perm: [0, 2, 1, 3] });
  }

  attend(q: string, k: string, v: string, heads: number, hd: number, bias?: string): string {
    const g = this.g;
    let scores = g.op('Div', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), g.scalar('sqrt_hd', Math.sqrt(hd))]);
    if (bias) scores = g.op('Add', [scores, bias]);
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    return g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.int64s('merge_heads', [0, 0, heads * hd])]);
  }

  dim(x: string, index: number): string {
    return this.g.op('Gather', [this.g.op('Shape', [x]), this.g.int64(`dim${index}`, index)], { axis: 0 });
  }
}

function encoderGraph(c: VitGpt2Config, w: BartWeights): Graph {
  const g = new Graph('vit_encoder');
  const b = new Builder(g, w);
  const h = c.hidden;
  const hd = h / c.vitHeads;
  const pixels = g.input('pixel_values', 'float32', ['batch_size', 3, c.imageSize, c.imageSize]);
  const patches = g.op('Conv', [pixels, b.weight('encoder.embeddings.patch_embeddings.projection.weight'), b.weight('encoder.embeddings.patch_embeddings.projection.bias')], {
    kernel_shape: [c.patch, c.patch],
    strides: [c.patch, c.patch],
  });
  const seq = g.op('Transpose', [g.op('Reshape', [patches, g.int64s('flatten_patches', [0, h, -1])])], { perm: [0, 2, 1] });
  const cls = g.op('Expand', [b.weight('encoder.embeddings.cls_token'), g.op('Concat', [g.op('Shape', [pixels], { start: 0, end: 1 }), g.int64s('one_h', [1, h])], { axis: 0 })]);
  let x = g.op('Add', [g.op('Concat', [cls, seq], { axis: 1 }), b.weight('encoder.embeddings.position_embeddings')]);
  for (let i = 0; i < c.vitLayers; i++) {
    const p = `encoder.encoder.layer.${i}`;
    const a = b.norm(x, `${p}.layernorm_before`, 1e-12);
    const [q, k, v] = ['query', 'key', 'value'].map((n) => b.heads(b.linear(a, `${p}.attention.attention.${n}`), c.vitHeads, hd));
    x = g.op('Add', [x, b.linear(b.attend(q!, k!, v!, c.vitHeads, hd), `${p}.attention.output.dense`)]);
    const m = b.linear(b.norm(x, `${p}.layernorm_after`, 1e-12), `${p}.intermediate.dense`);
    const gelu = g.op('Mul', [g.op('Mul', [m, g.scalar('half', 0.5)]), g.op('Add', [g.op('Erf', [g.op('Div', [m, g.scalar('sqrt2', Math.SQRT2)])]), g.scalar('one', 1)])]);
    x = g.op('Add', [x, b.linear(gelu, `${p}.output.dense`)]);
  }
  g.output(b.norm(x, 'encoder.layernorm', 1e-12), 'last_hidden_state', 'float32', ['batch_size', (c.imageSize / c.patch) ** 2 + 1, h]);
  return g;
}

/** One graph for every step: with an empty past it is the first step, with a past the cached one. */
function decoderGraph(c: VitGpt2Config, w: BartWeights): Graph {
  const g = new Graph('gpt2_decoder_merged');
  const b = new Builder(g, w);
  const h = c.hidden;
  const hd = h / c.gptHeads;
  const ids = g.input('input_ids', 'int64', ['batch_size', 'decoder_sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'past_sequence_length + 1']);
  const encoder = g.input('encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length', h]);
  const past = Array.from({ length: c.gptLayers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, 'float32', ['batch_size', c.gptHeads, 'past_sequence_length', hd]),
    value: g.input(`past_key_values.${i}.value`, 'float32', ['batch_size', c.gptHeads, 'past_sequence_length', hd]),
  }));
  g.input('use_cache_branch', 'bool', [1]);
  const pastLength = b.dim(past[0]!.key, 2);
  const total = g.op('Add', [pastLength, b.dim(ids, 1)]);
  const one = g.int64('one_i', 1);
  const positions = g.op('Range', [pastLength, total, one]);
  let x = g.op('Add', [g.op('Gather', [b.weight('decoder.transformer.wte.weight'), ids], { axis: 0 }), g.op('Gather', [b.weight('decoder.transformer.wpe.weight'), positions], { axis: 0 })]);
  const rows = g.op('Unsqueeze', [positions, g.int64s('ax1', [1])]);
  const cols = g.op('Unsqueeze', [g.op('Range', [g.int64('zero_i', 0), total, one]), g.int64s('ax0', [0])]);
  const causal = g.op('Where', [g.op('Greater', [cols, rows]), g.scalar('neg', NEG), g.scalar('zero', 0)]);
  const padding = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.scalar('one', 1), g.op('Cast', [mask], { to: 1 })]), g.scalar('neg', NEG)]), g.int64s('ax12', [1, 2])]);
  const selfBias = g.op('Add', [causal, padding]);
  const presents: [string, string][] = [];
  for (let i = 0; i < c.gptLayers; i++) {
    const p = `decoder.transformer.h.${i}`;
    const [q, k, v] = g.opMulti('Split', [b.conv1d(b.norm(x, `${p}.ln_1`, 1e-5), `${p}.attn.c_attn`), g.int64s('split3', [h, h, h])], 3, { axis: -1 });
    const keys = g.op('Concat', [past[i]!.key, b.heads(k!, c.gptHeads, hd)], { axis: 2 });
    const values = g.op('Concat', [past[i]!.value, b.heads(v!, c.gptHeads, hd)], { axis: 2 });
    presents.push([keys, values]);
    x = g.op('Add', [x, b.conv1d(b.attend(b.heads(q!, c.gptHeads, hd), keys, values, c.gptHeads, hd, selfBias), `${p}.attn.c_proj`)]);
    const cq = b.heads(b.conv1d(b.norm(x, `${p}.ln_cross_attn`, 1e-5), `${p}.crossattention.q_attn`), c.gptHeads, hd);
    const [ck, cv] = g.opMulti('Split', [b.conv1d(encoder, `${p}.crossattention.c_attn`), g.int64s('split2', [h, h])], 2, { axis: -1 });
    x = g.op('Add', [x, b.conv1d(b.attend(cq, b.heads(ck!, c.gptHeads, hd), b.heads(cv!, c.gptHeads, hd), c.gptHeads, hd), `${p}.crossattention.c_proj`)]);
    const m = b.conv1d(b.norm(x, `${p}.ln_2`, 1e-5), `${p}.mlp.c_fc`);
    // GELU, tanh form ("gelu_new"): ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    const inner = g.op('Mul', [g.op('Add', [m, g.op('Mul', [g.op('Mul', [g.op('Mul', [m, m]), m]), g.scalar('c3', 0.044715)])]), g.scalar('s2pi', Math.sqrt(2 / Math.PI))]);
    const gelu = g.op('Mul', [g.op('Mul', [m, g.scalar('half', 0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar('one', 1)])]);
    x = g.op('Add', [x, b.conv1d(gelu, `${p}.mlp.c_proj`)]);
  }
  x = b.norm(x, 'decoder.transformer.ln_f', 1e-5);
  g.output(g.op('MatMul', [x, g.op('Transpose', [b.weight('decoder.transformer.wte.weight')], { perm: [1, 0] })]), 'logits', 'float32', ['batch_size', 'decoder_sequence_length', c.vocabSize]);
  presents.forEach(([k, v], i) => {
    g.output(k, `present.${i}.key`, 'float32', ['batch_size', c.gptHeads, 'past_sequence_length + 1', hd]);
    g.output(v, `present.${i}.value`, 'float32', ['batch_size', c.gptHeads, 'past_sequence_length + 1', hd]);
  });
  return g;
}

export async function makeTinyVitGpt2(options: { seed?: number; dir?: string; generation?: Record<string, unknown>; variants?: readonly WeightVariant[] } = {}): Promise<TinyVitGpt2> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'livecap-tiny-vit-gpt2-')));
  const tokenizer = trainByteLevelBpe(TINY_CORPUS, { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  tokenizer.post_processor = null;
  const vocabSize = Object.keys((tokenizer.model as { vocab: object }).vocab).length;
  const config: VitGpt2Config = {
    imageSize: 32,
    patch: 8,
    hidden: 16,
    vitLayers: 2,
    vitHeads: 2,
    vitFfn: 24,
    vocabSize,
    gptLayers: 2,
    gptHeads: 4,
    positions: 32,
    eos: 0,
    mean: [0.4, 0.5, 0.6],
    std: [0.2, 0.25, 0.3],
  };
  const weights = randomWeights(config, options.seed ?? 11);
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const json = (name: string, value: unknown) => writeFile(join(dir, name), JSON.stringify(value, null, 2) + '\n');
  await json('config.json', {
    model_type: 'vision-encoder-decoder',
    architectures: ['VisionEncoderDecoderModel'],
    is_encoder_decoder: true,
    decoder_start_token_id: config.eos,
    pad_token_id: config.eos,
    eos_token_id: config.eos,
    encoder: {
      model_type: 'vit',
      hidden_size: config.hidden,
      num_hidden_layers: config.vitLayers,
      num_attention_heads: config.vitHeads,
      intermediate_size: config.vitFfn,
      image_size: config.imageSize,
      patch_size: config.patch,
      num_channels: 3,
      layer_norm_eps: 1e-12,
      hidden_act: 'gelu',
    },
    decoder: {
      model_type: 'gpt2',
      vocab_size: vocabSize,
      n_embd: config.hidden,
      n_layer: config.gptLayers,
      n_head: config.gptHeads,
      n_positions: config.positions,
      add_cross_attention: true,
      activation_function: 'gelu_new',
      layer_norm_epsilon: 1e-5,
      bos_token_id: config.eos,
      eos_token_id: config.eos,
    },
  });
  await json('generation_config.json', {
    decoder_start_token_id: config.eos,
    bos_token_id: config.eos,
    eos_token_id: config.eos,
    pad_token_id: config.eos,
    max_length: 10,
    num_beams: 2,
    ...options.generation,
  });
  await json('preprocessor_config.json', {
    feature_extractor_type: 'ViTFeatureExtractor',
    image_processor_type: 'ViTImageProcessor',
    do_resize: true,
    size: { height: config.imageSize, width: config.imageSize },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: config.mean,
    image_std: config.std,
  });
  await json('tokenizer.json', tokenizer);
  await json('tokenizer_config.json', { tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: config.positions });
  for (const variant of [undefined, ...(options.variants ?? [])]) {
    const suffix = variant ? DTYPE_SUFFIX[variant] : '';
    for (const [name, graph] of [
      ['encoder_model', encoderGraph(config, weights)],
      ['decoder_model_merged', decoderGraph(config, weights)],
    ] as const) {
      if (variant) writeWeightVariant(graph, variant);
      await writeFile(join(dir, 'onnx', `${name}${suffix}.onnx`), encodeModel(graph));
    }
  }
  return { dir, config, weights };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out] = process.argv.slice(2);
  if (!out) throw new Error('usage: tiny-vit-gpt2.js OUT_DIR');
  await makeTinyVitGpt2({ dir: out });
  console.log(`wrote ${out}`);
}
