/**
 * A text-to-text model from a Hugging Face ONNX export (BART, DistilBART and the like): the
 * tokenizer, the encoder session and the decoder session(s), opened once, then
 * `generate(text)` as many times as wanted, then `release()`.
 *
 *   const model = await TextSeq2Seq.open('models/summarizer-synth');
 *   const { text } = await model.generate('a red circle on the grass. a blue star in the sky.');
 *   await model.release();
 *
 * Run it in a worker thread (summarizer-worker.ts): search runs JavaScript between the steps.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { openSession, type OnnxSession, type ProviderPreference } from '../onnx/runtime.js';
import { resolveGeneration, type GenerationOptions, type GenerationOverrides } from './generation-config.js';
import { readHfModelDir, type HfModelDir } from './model-dir.js';
import { OnnxDecoderStepper, type CacheShape, type DecoderSessions } from './onnx-decoder.js';
import { generate, type Generated } from './search.js';

export interface GenerateResult extends Generated {
  text: string;
  /** Input tokens after truncation to the model's limit. */
  inputTokens: number;
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

/** Heads and head size of the decoder's attention cache, from config.json. */
export function cacheShape(config: Record<string, unknown>, where: string): CacheShape {
  const heads = numberField(config, ['decoder_attention_heads', 'num_attention_heads', 'n_head'], where);
  const width = numberField(config, ['d_model', 'hidden_size', 'n_embd'], where);
  return { heads, headDim: width / heads };
}

export class TextSeq2Seq {
  private released = false;

  private constructor(
    readonly files: HfModelDir,
    private readonly tokenizer: Tokenizer,
    private readonly encoder: OnnxSession,
    private readonly decoder: DecoderSessions,
    readonly generation: GenerationOptions,
    private readonly vocabSize: number,
    private readonly cache: CacheShape,
    private readonly maxInputTokens: number,
  ) {}

  static async open(dir: string, options: { provider?: ProviderPreference; generation?: GenerationOverrides } = {}): Promise<TextSeq2Seq> {
    const files = await readHfModelDir(dir, { tokenizer: true });
    const { config, tokenizer: tok } = files;
    const generation = resolveGeneration(files.generationConfig, config, options.generation ?? {}, dir);
    const vocabSize = numberField(config, ['vocab_size'], dir);
    const cache = cacheShape(config, dir);
    const maxPositions = typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : 1024;
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tok!.json, tok!.config);
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
      requireInputs(encoder, ['input_ids'], 'text encoder');
      const first = await open(files.decoder.path);
      requireInputs(first, ['input_ids', 'encoder_hidden_states'], 'decoder');
      if (!first.outputNames.includes('logits')) throw new Error(`${first.path}: not a decoder: it has no 'logits' output (its outputs: ${first.outputNames.join(', ')})`);
      if (files.decoder.kind === 'merged') {
        requireInputs(first, ['use_cache_branch'], 'merged decoder');
        if (!first.inputNames.some((n) => n.startsWith('past_key_values.'))) throw new Error(`${first.path}: not a merged decoder: it has no past_key_values inputs`);
      }
      const withPast = files.decoder.kind === 'split' ? await open(files.decoder.withPastPath) : undefined;
      return new TextSeq2Seq(files, tokenizer, encoder, { kind: files.decoder.kind, first, withPast }, generation, vocabSize, cache, maxPositions);
    } catch (err) {
      await Promise.all(opened.map((s) => s.release()));
      throw err;
    }
  }

  /** Which execution provider the sessions run on. */
  get provider(): string {
    return this.encoder.provider;
  }

  /** Token ids of `text` with the tokenizer's special tokens, cut to the model's input limit. */
  encode(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    if (ids.length <= this.maxInputTokens) return ids;
    // Keep the end-of-sequence token that the post-processor appended.
    return [...ids.slice(0, this.maxInputTokens - 1), ids.at(-1)!];
  }

  decode(tokens: readonly number[]): string {
    return this.tokenizer.decode([...tokens], { skip_special_tokens: true }).trim();
  }

  async generate(text: string, overrides: GenerationOverrides = {}): Promise<GenerateResult> {
    if (this.released) throw new Error(`${this.files.dir}: model was released`);
    const options = { ...this.generation, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
    const ids = this.encode(text);
    const inputIds = { type: 'int64' as const, data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] };
    const mask = { type: 'int64' as const, data: new BigInt64Array(ids.length).fill(1n), dims: [1, ids.length] };
    const feeds: Record<string, typeof inputIds> = { input_ids: inputIds };
    if (this.encoder.inputNames.includes('attention_mask')) feeds.attention_mask = mask;
    const out = await this.encoder.run(feeds);
    const states = out.last_hidden_state ?? Object.values(out)[0];
    if (!states || states.type !== 'float32') throw new Error(`${this.encoder.path}: the encoder returned no float last_hidden_state`);
    const stepper = new OnnxDecoderStepper(this.decoder, { states: states as typeof states & { type: 'float32' }, mask }, options.numBeams, this.vocabSize, this.cache);
    const result = await generate(stepper, options);
    return { ...result, text: this.decode(result.tokens), inputTokens: ids.length };
  }

  /** Frees every session. Safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all([this.encoder.release(), this.decoder.first.release(), this.decoder.withPast?.release()]);
  }
}
