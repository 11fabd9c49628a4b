/**
 * A Hugging Face ONNX export on disk (what `optimum-cli export onnx` or the Hub's `onnx/`
 * folders hold), checked before any session is opened:
 *
 *   config.json  generation_config.json (optional)  tokenizer.json  tokenizer_config.json (optional)
 *   preprocessor_config.json (image models)
 *   onnx/encoder_model.onnx
 *   onnx/decoder_model_merged.onnx                       one decoder with a key/value cache, or
 *   onnx/decoder_model.onnx + decoder_with_past_model.onnx   the older two-file form, or
 *   onnx/decoder_model.onnx                              no cache: every step reruns all tokens
 * A Florence-2 export (config.json model_type "florence2") adds
 *   onnx/vision_encoder.onnx   pixel_values → image_features
 *   onnx/embed_tokens.onnx     input_ids → inputs_embeds, which its encoder and decoder read
 * The ONNX files may also sit beside config.json instead of in onnx/. Every missing file is
 * named in one error. Which variant's files (encoder_model_quantized.onnx…) is dtype.ts's choice.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../../util/json-file.js';
import { log } from '../../util/log.js';
import { chooseVariant, florenceFiles, missingExportFiles, type ChosenVariant, type DecoderLayout, type DtypeChoice, type ModelDtype } from './dtype.js';

export type { DecoderLayout } from './dtype.js';

export interface HfModelDir {
  dir: string;
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  tokenizer?: { json: Record<string, unknown>; config: Record<string, unknown> };
  preprocessor?: Record<string, unknown>;
  /** The variant whose ONNX files these are. */
  dtype: ModelDtype;
  encoderPath: string;
  decoder: DecoderLayout;
  /** Florence-2 exports only. */
  visionEncoderPath?: string;
  embedTokensPath?: string;
}

function onnxFile(dir: string, name: string): string | undefined {
  for (const candidate of [join(dir, 'onnx', name), join(dir, name)]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/** The .onnx files of a folder (in onnx/ and beside config.json), for error messages. */
function onnxFilesIn(dir: string): string[] {
  const list = (sub: string) => {
    try {
      return readdirSync(join(dir, sub))
        .filter((n) => n.endsWith('.onnx'))
        .map((n) => (sub ? `${sub}/${n}` : n));
    } catch {
      return [];
    }
  };
  return [...list('onnx'), ...list('')].sort();
}

export async function readHfModelDir(dir: string, needs: { tokenizer: boolean; preprocessor?: boolean; florence?: boolean }, dtype: DtypeChoice = 'auto'): Promise<HfModelDir> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`model folder not found: ${dir}`);
  const missing: string[] = [];
  const need = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path)) missing.push(name);
    return path;
  };
  const configPath = need('config.json');
  const tokenizerPath = needs.tokenizer ? need('tokenizer.json') : undefined;
  const preprocessorPath = needs.preprocessor ? need('preprocessor_config.json') : undefined;
  const find = (name: string) => onnxFile(dir, name);
  let variant: ChosenVariant<string> | undefined;
  let variantError: Error | undefined;
  try {
    variant = chooseVariant(find, dtype, { model: dir, onnxFiles: onnxFilesIn(dir) });
  } catch (err) {
    variantError = err as Error;
  }
  if (!variant && !variantError) missing.push(...missingExportFiles(find));
  // A Florence-2 export's image encoder and token embedding, of the same variant where it has them.
  const extras = florenceFiles(find, variant?.dtype ?? 'fp32');
  if (needs.florence && !extras.visionEncoder) missing.push('onnx/vision_encoder.onnx');
  if (needs.florence && !extras.embedTokens) missing.push('onnx/embed_tokens.onnx');
  if (missing.length) throw new Error(`${dir} is not a complete ONNX export: missing ${missing.join(', ')}${variantError ? `; and ${variantError.message}` : ''}`);
  if (variantError) throw variantError;
  if (dtype === 'auto' && variant!.dtype !== 'fp32') log.info('model has no fp32 files; running another variant', { dir, dtype: variant!.dtype });

  const json = async (path: string) => (await readJsonFile(path, 'model file')) as Record<string, unknown>;
  const optional = async (name: string) => (existsSync(join(dir, name)) ? json(join(dir, name)) : {});
  return {
    dir,
    config: await json(configPath),
    generationConfig: await optional('generation_config.json'),
    tokenizer: tokenizerPath ? { json: await json(tokenizerPath), config: await optional('tokenizer_config.json') } : undefined,
    preprocessor: preprocessorPath ? await json(preprocessorPath) : undefined,
    dtype: variant!.dtype,
    encoderPath: variant!.encoder,
    decoder: variant!.decoder,
    visionEncoderPath: needs.florence ? extras.visionEncoder : undefined,
    embedTokensPath: needs.florence ? extras.embedTokens : undefined,
  };
}

/** True when `dir/config.json` says the folder is a Florence-2 export (model_type "florence2"). */
export function isFlorence2Dir(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model_type?: unknown }).model_type === 'florence2';
  } catch {
    return false;
  }
}
