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
 * named in one error.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../../util/json-file.js';

export type DecoderLayout<T = string> =
  | { kind: 'merged'; path: T }
  | { kind: 'split'; path: T; withPastPath: T }
  | { kind: 'uncached'; path: T };

/**
 * Which ONNX files make the model, by the rules above, whatever `find` looks in (a folder on
 * disk, or a hub listing before anything is downloaded); undefined where none fits.
 */
export function onnxLayout<T>(find: (name: string) => T | undefined): { encoder?: T; decoder?: DecoderLayout<T>; visionEncoder?: T; embedTokens?: T } {
  const merged = find('decoder_model_merged.onnx');
  const plain = find('decoder_model.onnx');
  const withPast = find('decoder_with_past_model.onnx');
  const decoder: DecoderLayout<T> | undefined = merged
    ? { kind: 'merged', path: merged }
    : plain && withPast
      ? { kind: 'split', path: plain, withPastPath: withPast }
      : plain
        ? { kind: 'uncached', path: plain }
        : undefined;
  return { encoder: find('encoder_model.onnx'), decoder, visionEncoder: find('vision_encoder.onnx'), embedTokens: find('embed_tokens.onnx') };
}

export interface HfModelDir {
  dir: string;
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  tokenizer?: { json: Record<string, unknown>; config: Record<string, unknown> };
  preprocessor?: Record<string, unknown>;
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

export async function readHfModelDir(dir: string, needs: { tokenizer: boolean; preprocessor?: boolean; florence?: boolean }): Promise<HfModelDir> {
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
  const { encoder: encoderPath, decoder, visionEncoder, embedTokens } = onnxLayout((name) => onnxFile(dir, name));
  if (needs.florence && !visionEncoder) missing.push('onnx/vision_encoder.onnx');
  if (needs.florence && !embedTokens) missing.push('onnx/embed_tokens.onnx');
  if (!encoderPath) missing.push('onnx/encoder_model.onnx');
  if (!decoder) missing.push('onnx/decoder_model_merged.onnx (or onnx/decoder_model.onnx)');
  if (missing.length) throw new Error(`${dir} is not a complete ONNX export: missing ${missing.join(', ')}`);

  const json = async (path: string) => (await readJsonFile(path, 'model file')) as Record<string, unknown>;
  const optional = async (name: string) => (existsSync(join(dir, name)) ? json(join(dir, name)) : {});
  return {
    dir,
    config: await json(configPath),
    generationConfig: await optional('generation_config.json'),
    tokenizer: tokenizerPath ? { json: await json(tokenizerPath), config: await optional('tokenizer_config.json') } : undefined,
    preprocessor: preprocessorPath ? await json(preprocessorPath) : undefined,
    encoderPath: encoderPath!,
    decoder: decoder!,
    visionEncoderPath: visionEncoder,
    embedTokensPath: embedTokens,
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
