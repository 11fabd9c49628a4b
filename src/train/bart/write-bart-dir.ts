/**
 * Writes a BART model folder in the Hugging Face ONNX export layout: config.json,
 * generation_config.json, tokenizer.json, tokenizer_config.json and onnx/{encoder_model,
 * decoder_model, decoder_model_merged}.onnx. The same engine then loads it as it loads a
 * converted facebook/bart-large-cnn.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bartConfigJson, type BartConfig } from './bart-config.js';
import { exportBartOnnx, type BartWeights } from './bart-onnx.js';
import type { WeightVariant } from '../../models/onnx/weight-variants.js';

export interface BartDirContents {
  config: BartConfig;
  weights: BartWeights;
  tokenizer: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** generation_config.json fields beyond the special tokens (num_beams, max_length, …). */
  generation: Record<string, unknown>;
  /** decoder_model_merged.onnx (default) or the older decoder_with_past_model.onnx. */
  layout?: 'merged' | 'split';
  /** Variants written beside the float32 files (encoder_model_fp16.onnx…). */
  variants?: readonly WeightVariant[];
}

export async function writeBartModelDir(dir: string, m: BartDirContents): Promise<void> {
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const json = (name: string, value: unknown) => writeFile(join(dir, name), JSON.stringify(value, null, 2) + '\n');
  const c = m.config;
  await json('config.json', bartConfigJson(c));
  await json('generation_config.json', {
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    pad_token_id: c.padTokenId,
    decoder_start_token_id: c.decoderStartTokenId,
    forced_bos_token_id: c.bosTokenId,
    forced_eos_token_id: c.eosTokenId,
    ...m.generation,
  });
  await json('tokenizer.json', m.tokenizer);
  await json('tokenizer_config.json', m.tokenizerConfig);
  for (const variant of [undefined, ...(m.variants ?? [])]) {
    for (const [name, bytes] of Object.entries(exportBartOnnx(c, m.weights, m.layout, variant))) await writeFile(join(dir, 'onnx', name), bytes);
  }
}
