/**
 * Makes tiny Florence-2 models in the layout of onnx-community's Florence-2 exports:
 * config.json (model_type florence2, text_config, vision_config), generation_config.json,
 * preprocessor_config.json (CLIP-style image settings and the processor's task prompts),
 * tokenizer.json and tokenizer_config.json (a BART-style byte-level BPE), and
 *
 *   onnx/vision_encoder.onnx          pixel_values → image_features [B, N, D]
 *   onnx/embed_tokens.onnx            input_ids → inputs_embeds
 *   onnx/encoder_model.onnx           inputs_embeds, attention_mask → last_hidden_state
 *   onnx/decoder_model_merged.onnx    inputs_embeds, encoder_hidden_states,
 *                                     encoder_attention_mask, past_key_values.N.{decoder,encoder}.{key,value},
 *                                     use_cache_branch → logits, present.*
 *
 * The real vision encoder is a DaViT; this one is a patch convolution, positions, a layer norm
 * and a projection, which keeps the contract (names, shapes, image tokens before the prompt)
 * that the rest of the model depends on. The language model is BART, as in Florence-2, with
 * seeded random weights.
 *
 *   node dist/test/helpers/tiny-florence2.js OUT_DIR     writes one to look at
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bartConfigJson, type BartConfig } from '../../src/train/bart/bart-config.js';
import { exportBartOnnx, type BartWeights } from '../../src/train/bart/bart-onnx.js';
import { initBartWeights } from '../../src/train/bart/bart-weights.js';
import { Graph, encodeModel, float } from '../../src/models/onnx/onnx-graph.js';
import { tokenizerConfigJson, trainByteLevelBpe } from '../../src/train/tokenizer/byte-level-bpe.js';
import { Rng } from '../../src/util/rng.js';
import { TINY_CORPUS } from './tiny-bart.js';

/** The prompts of Florence-2's preprocessor_config.json, for the tasks that take no input. */
export const FLORENCE2_TASK_PROMPTS: Record<string, string> = {
  '<OCR>': 'What is the text in the image?',
  '<OCR_WITH_REGION>': 'What is the text in the image, with regions?',
  '<CAPTION>': 'What does the image describe?',
  '<DETAILED_CAPTION>': 'Describe in detail what is shown in the image.',
  '<MORE_DETAILED_CAPTION>': 'Describe with a paragraph what is shown in the image.',
  '<OD>': 'Locate the objects with category name in the image.',
  '<DENSE_REGION_CAPTION>': 'Locate the objects in the image, with their descriptions.',
  '<REGION_PROPOSAL>': 'Locate the region proposals in the image.',
};

const TASKS_WITH_INPUT: Record<string, string> = {
  '<CAPTION_TO_PHRASE_GROUNDING>': 'Locate the phrases in the caption: {input}',
  '<REFERRING_EXPRESSION_SEGMENTATION>': 'Locate {input} in the image with mask',
  '<OPEN_VOCABULARY_DETECTION>': 'Locate {input} in the image.',
  '<REGION_TO_CATEGORY>': 'What is the region {input}?',
  '<REGION_TO_DESCRIPTION>': 'What does the region {input} describe?',
};

const ANSWER_TYPES: Record<string, string> = {
  '<OCR>': 'pure_text',
  '<OCR_WITH_REGION>': 'ocr',
  '<CAPTION>': 'pure_text',
  '<DETAILED_CAPTION>': 'pure_text',
  '<MORE_DETAILED_CAPTION>': 'pure_text',
  '<OD>': 'description_with_bboxes',
  '<DENSE_REGION_CAPTION>': 'description_with_bboxes',
  '<CAPTION_TO_PHRASE_GROUNDING>': 'phrase_grounding',
  '<REFERRING_EXPRESSION_SEGMENTATION>': 'polygons',
  '<REGION_TO_SEGMENTATION>': 'polygons',
  '<OPEN_VOCABULARY_DETECTION>': 'description_with_bboxes_or_polygons',
  '<REGION_TO_CATEGORY>': 'pure_text',
  '<REGION_TO_DESCRIPTION>': 'pure_text',
  '<REGION_TO_OCR>': 'pure_text',
  '<REGION_PROPOSAL>': 'bboxes',
};

export interface Florence2VisionConfig {
  imageSize: number;
  patch: number;
  mean: number[];
  std: number[];
}

export interface TinyFlorence2 {
  dir: string;
  text: BartConfig;
  vision: Florence2VisionConfig;
  weights: BartWeights;
}

/** Patch convolution → [B, N, D] → + positions → layer norm → projection, named as the export's output. */
function visionEncoderGraph(v: Florence2VisionConfig, d: number, seed: number): Graph {
  const rng = new Rng(seed);
  const random = (n: number, scale: number, base = 0) => Float32Array.from({ length: n }, () => base + rng.normal() * scale);
  const g = new Graph('vision_encoder');
  const tokens = (v.imageSize / v.patch) ** 2;
  const pixels = g.input('pixel_values', 'float32', ['batch_size', 3, v.imageSize, v.imageSize]);
  const conv = g.op('Conv', [pixels, g.constant('patch_weight', random(d * 3 * v.patch * v.patch, 0.2), [d, 3, v.patch, v.patch]), g.constant('patch_bias', random(d, 0.3), [d])], {
    kernel_shape: [v.patch, v.patch],
    strides: [v.patch, v.patch],
  });
  const seq = g.op('Transpose', [g.op('Reshape', [conv, g.int64s('flatten', [0, d, -1])])], { perm: [0, 2, 1] });
  const placed = g.op('Add', [seq, g.constant('positions', random(tokens * d, 0.5), [tokens, d])]);
  const normed = g.op('LayerNormalization', [placed, g.constant('norm_weight', random(d, 0.2, 1), [d]), g.constant('norm_bias', random(d, 0.2), [d])], { axis: -1, epsilon: float(1e-5) });
  const projected = g.op('MatMul', [normed, g.constant('projection', random(d * d, 0.4), [d, d])]);
  g.output(projected, 'image_features', 'float32', ['batch_size', tokens, d]);
  return g;
}

/** Sizes beyond the tests' defaults (the benchmark writes a wider model). */
export interface Florence2Size {
  dModel?: number;
  layers?: number;
  heads?: number;
  ffn?: number;
  imageSize?: number;
  patch?: number;
}

export async function makeTinyFlorence2(options: { seed?: number; dir?: string; generation?: Record<string, unknown>; size?: Florence2Size } = {}): Promise<TinyFlorence2> {
  const size = options.size ?? {};
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'livecap-tiny-florence2-')));
  const seed = options.seed ?? 5;
  const tokenizer = trainByteLevelBpe([...TINY_CORPUS, ...Object.values(FLORENCE2_TASK_PROMPTS)], { vocabSize: 340 });
  const vocabSize = Object.keys((tokenizer.model as { vocab: object }).vocab).length;
  const text: BartConfig = {
    vocabSize,
    dModel: size.dModel ?? 16,
    encoderLayers: size.layers ?? 2,
    decoderLayers: size.layers ?? 2,
    encoderHeads: size.heads ?? 2,
    decoderHeads: size.heads ?? 4,
    encoderFfn: size.ffn ?? 32,
    decoderFfn: size.ffn ?? 24,
    // Room for the image tokens, the prompt and the output.
    maxPositions: Math.max(96, 64 + ((size.imageSize ?? 32) / (size.patch ?? 8)) ** 2),
    scaleEmbedding: false,
    activation: 'gelu',
    padTokenId: 1,
    bosTokenId: 0,
    eosTokenId: 2,
    decoderStartTokenId: 2,
  };
  const vision: Florence2VisionConfig = { imageSize: size.imageSize ?? 32, patch: size.patch ?? 8, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  const weights = initBartWeights(text, seed, 0.5, 0.3);
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const json = (name: string, value: unknown) => writeFile(join(dir, name), JSON.stringify(value, null, 2) + '\n');
  await json('config.json', {
    model_type: 'florence2',
    architectures: ['Florence2ForConditionalGeneration'],
    is_encoder_decoder: true,
    bos_token_id: text.bosTokenId,
    eos_token_id: text.eosTokenId,
    pad_token_id: text.padTokenId,
    vocab_size: vocabSize,
    projection_dim: text.dModel,
    text_config: { ...bartConfigJson(text), model_type: 'florence2_language', architectures: undefined, no_repeat_ngram_size: 3, num_beams: 3, early_stopping: true },
    vision_config: { model_type: 'davit', patch_size: [vision.patch], projection_dim: text.dModel, image_size: vision.imageSize },
  });
  await json('generation_config.json', {
    bos_token_id: text.bosTokenId,
    eos_token_id: text.eosTokenId,
    pad_token_id: text.padTokenId,
    decoder_start_token_id: text.decoderStartTokenId,
    forced_bos_token_id: text.bosTokenId,
    forced_eos_token_id: text.eosTokenId,
    no_repeat_ngram_size: 3,
    num_beams: 3,
    early_stopping: true,
    max_length: 20,
    ...options.generation,
  });
  await json('preprocessor_config.json', {
    processor_class: 'Florence2Processor',
    image_processor_type: 'CLIPImageProcessor',
    do_resize: true,
    size: { height: vision.imageSize, width: vision.imageSize },
    crop_size: { height: vision.imageSize, width: vision.imageSize },
    do_center_crop: false,
    resample: 3,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: vision.mean,
    image_std: vision.std,
    image_seq_length: (vision.imageSize / vision.patch) ** 2,
    tasks_answer_post_processing_type: ANSWER_TYPES,
    task_prompts_without_inputs: FLORENCE2_TASK_PROMPTS,
    task_prompts_with_input: TASKS_WITH_INPUT,
  });
  await json('tokenizer.json', tokenizer);
  await json('tokenizer_config.json', tokenizerConfigJson(text.maxPositions));
  for (const [name, bytes] of Object.entries(exportBartOnnx(text, weights, 'merged', undefined, { inputsEmbeds: true }))) await writeFile(join(dir, 'onnx', name), bytes);
  await writeFile(join(dir, 'onnx', 'vision_encoder.onnx'), encodeModel(visionEncoderGraph(vision, text.dModel, seed + 1)));
  return { dir, text, vision, weights };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out] = process.argv.slice(2);
  if (!out) throw new Error('usage: tiny-florence2.js OUT_DIR');
  await makeTinyFlorence2({ dir: out });
  console.log(`wrote ${out}`);
}
