/**
 * What every Hugging Face encoder-decoder export shares, whatever the encoder reads: the
 * tokenizer, the encoder session, the decoder session(s) in any of the three layouts, the
 * generation options and the cache shape, opened once and released once. TextSeq2Seq (BART
 * and the like), ImageSeq2Seq (ViT-GPT2 and the like) and Florence2 (image features and a task
 * prompt as embeddings) feed the encoder their own input and share the search.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { openSession, type OnnxSession, type OnnxTensor, type ProviderPreference } from '../onnx/runtime.js';
import { applyOverrides, resolveGeneration, type GenerationOptions, type GenerationOverrides } from './generation-config.js';
import type { DtypeChoice, ModelDtype } from './dtype.js';
import { readHfModelDir, type HfModelDir } from './model-dir.js';
import { embedTokens, OnnxDecoderStepper, type CacheShape, type DecoderSessions, type EncoderOutput } from './onnx-decoder.js';
import { generate, type Generated } from './search.js';

export interface OpenOptions {
  provider?: ProviderPreference;
  generation?: GenerationOverrides;
  /** Which variant's ONNX files to load (dtype.ts); default auto: fp32 where present. */
  dtype?: DtypeChoice;
}

function requireInputs(session: OnnxSession, needed: readonly string[], what: string): void {
  const missing = needed.filter((n) => !session.inputNames.includes(n));
  if (missing.length) {
    throw new Error(`${session.path}: not a ${what}: it lacks input ${missing.map((m) => `'${m}'`).join(', ')} (its inputs: ${session.inputNames.join(', ')})`);
  }
}

function numberField(config: Record<string, unknown>, names: readonly string[], where: string): number {
  for (const n of names) if (typeof config[n] === 'number') return config[n] as number;
  throw new Error(`${where}/config.json: none of ${names.join(', ')} is set`);
}

/**
 * The decoder's settings: a vision-encoder-decoder config.json keeps them under `decoder`
 * (with the start token at the top level), a Florence-2 config.json under `text_config`, a
 * BART config.json at the top level.
 */
export function decoderConfig(config: Record<string, unknown>): Record<string, unknown> {
  const { decoder, encoder: _encoder, text_config: text, vision_config: _vision, ...top } = config;
  const section = typeof decoder === 'object' && decoder !== null ? decoder : typeof text === 'object' && text !== null ? text : undefined;
  return section ? { ...(section as Record<string, unknown>), ...top } : config;
}

/** What the encoder reads: token ids (BART), pixels (ViT-GPT2), or embeddings (Florence-2). */
export type EncoderInput = 'input_ids' | 'pixel_values' | 'inputs_embeds';

/** Heads and head size of the decoder's attention cache, from config.json. */
export function cacheShape(config: Record<string, unknown>, where: string): CacheShape {
  const c = decoderConfig(config);
  const heads = numberField(c, ['decoder_attention_heads', 'num_attention_heads', 'n_head'], where);
  const width = numberField(c, ['d_model', 'hidden_size', 'n_embd'], where);
  return { heads, headDim: width / heads };
}

export class EncoderDecoder {
  private released = false;

  private constructor(
    readonly files: HfModelDir,
    readonly tokenizer: Tokenizer,
    readonly encoder: OnnxSession,
    private readonly decoder: DecoderSessions,
    readonly generation: GenerationOptions,
    readonly vocabSize: number,
    private readonly cache: CacheShape,
  ) {}

  /**
   * Opens the folder's sessions; `encoderInput` is the input the encoder must have. With
   * `inputs_embeds`, embed_tokens.onnx is opened too and the decoder reads embeddings.
   */
  static async open(dir: string, encoderInput: EncoderInput, options: OpenOptions = {}): Promise<EncoderDecoder> {
    const vision = encoderInput === 'pixel_values';
    const embeds = encoderInput === 'inputs_embeds';
    const files = await readHfModelDir(dir, { tokenizer: true, preprocessor: vision || embeds, florence: embeds }, options.dtype);
    const config = decoderConfig(files.config);
    const generation = resolveGeneration(files.generationConfig, config, options.generation ?? {}, dir);
    const vocabSize = numberField(config, ['vocab_size'], dir);
    const cache = cacheShape(files.config, dir);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(files.tokenizer!.json, files.tokenizer!.config);
    } catch (err) {
      throw new Error(`${dir}/tokenizer.json: cannot be loaded (${(err as Error).message})`);
    }
    const opened: OnnxSession[] = [];
    try {
      const open = async (path: string) => {
        const s = await openSession(path, options.provider);
        opened.push(s);
        return s;
      };
      const encoder = await open(files.encoderPath);
      requireInputs(encoder, [encoderInput], vision ? 'vision encoder' : 'text encoder');
      const embed = embeds ? await open(files.embedTokensPath!) : undefined;
      if (embed) {
        requireInputs(embed, ['input_ids'], 'token embedding');
        if (!embed.outputNames.includes('inputs_embeds')) throw new Error(`${embed.path}: not a token embedding: it has no 'inputs_embeds' output (its outputs: ${embed.outputNames.join(', ')})`);
      }
      const first = await open(files.decoder.path);
      requireInputs(first, [embeds ? 'inputs_embeds' : 'input_ids', 'encoder_hidden_states'], 'decoder');
      if (!first.outputNames.includes('logits')) throw new Error(`${first.path}: not a decoder: it has no 'logits' output (its outputs: ${first.outputNames.join(', ')})`);
      if (files.decoder.kind === 'merged') {
        requireInputs(first, ['use_cache_branch'], 'merged decoder');
        if (!first.inputNames.some((n) => n.startsWith('past_key_values.'))) throw new Error(`${first.path}: not a merged decoder: it has no past_key_values inputs`);
      }
      const withPast = files.decoder.kind === 'split' ? await open(files.decoder.withPastPath) : undefined;
      if (withPast) requireInputs(withPast, [embeds ? 'inputs_embeds' : 'input_ids'], 'decoder');
      return new EncoderDecoder(files, tokenizer, encoder, { kind: files.decoder.kind, first, withPast, embed }, generation, vocabSize, cache);
    } catch (err) {
      await Promise.all(opened.map((s) => s.release()));
      throw err;
    }
  }

  get provider(): string {
    return this.encoder.provider;
  }

  /** The variant that was loaded. */
  get dtype(): ModelDtype {
    return this.files.dtype;
  }

  decode(tokens: readonly number[]): string {
    return this.tokenizer.decode([...tokens], { skip_special_tokens: true }).trim();
  }

  /** Token embeddings [1, T, D] from embed_tokens.onnx; only for exports that have one. */
  embed(ids: readonly number[]): Promise<OnnxTensor & { type: 'float32' }> {
    if (this.released) throw new Error(`${this.files.dir}: model was released`);
    if (!this.decoder.embed) throw new Error(`${this.files.dir}: this export has no embed_tokens.onnx`);
    return embedTokens(this.decoder.embed, { type: 'int64', data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] });
  }

  /** Runs the encoder on `feeds`, then searches the decoder with the generation options. */
  async generate(feeds: Record<string, OnnxTensor>, mask: EncoderOutput['mask'], overrides: GenerationOverrides = {}): Promise<Generated & { text: string }> {
    if (this.released) throw new Error(`${this.files.dir}: model was released`);
    const options = applyOverrides(this.generation, overrides, this.files.dir);
    const out = await this.encoder.run(feeds);
    const states = out.last_hidden_state ?? Object.values(out)[0];
    if (states?.type !== 'float32') throw new Error(`${this.encoder.path}: the encoder returned no float last_hidden_state`);
    const stepper = new OnnxDecoderStepper(this.decoder, { states: states as typeof states & { type: 'float32' }, mask }, options.numBeams, this.vocabSize, this.cache);
    const result = await generate(stepper, options);
    return { ...result, text: this.decode(result.tokens) };
  }

  /** Frees every session. Safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all([this.encoder.release(), this.decoder.first.release(), this.decoder.withPast?.release(), this.decoder.embed?.release()]);
  }
}
