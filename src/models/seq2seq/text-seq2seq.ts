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
import type { GenerationOptions, GenerationOverrides } from './generation-config.js';
import type { HfModelDir } from './model-dir.js';
import { EncoderDecoder, type OpenOptions } from './encoder-decoder.js';
import { Seq2SeqModel } from './seq2seq-model.js';
import type { Generated } from './search.js';

export interface GenerateResult extends Generated {
  text: string;
  /** Input tokens after truncation to the model's limit. */
  inputTokens: number;
}

export class TextSeq2Seq extends Seq2SeqModel {
  private constructor(
    model: EncoderDecoder,
    private readonly maxInputTokens: number,
  ) {
    super(model);
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<TextSeq2Seq> {
    const model = await EncoderDecoder.open(dir, 'input_ids', options);
    const max = model.files.config.max_position_embeddings;
    return new TextSeq2Seq(model, typeof max === 'number' ? max : 1024);
  }

  get files(): HfModelDir {
    return this.model.files;
  }

  get generation(): GenerationOptions {
    return this.model.generation;
  }

  /** Token ids of `text` with the tokenizer's special tokens, cut to the model's input limit. */
  encode(text: string): number[] {
    const ids = this.model.tokenizer.encode(text).ids;
    if (ids.length <= this.maxInputTokens) return ids;
    // Keep the end-of-sequence token that the post-processor appended.
    return [...ids.slice(0, this.maxInputTokens - 1), ids.at(-1)!];
  }

  decode(tokens: readonly number[]): string {
    return this.model.decode(tokens);
  }

  async generate(text: string, overrides: GenerationOverrides = {}): Promise<GenerateResult> {
    const ids = this.encode(text);
    const inputIds = { type: 'int64' as const, data: BigInt64Array.from(ids, BigInt), dims: [1, ids.length] };
    const mask = { type: 'int64' as const, data: new BigInt64Array(ids.length).fill(1n), dims: [1, ids.length] };
    const feeds: Record<string, typeof inputIds> = { input_ids: inputIds };
    if (this.model.encoder.inputNames.includes('attention_mask')) feeds.attention_mask = mask;
    const result = await this.model.generate(feeds, mask, overrides);
    return { ...result, inputTokens: ids.length };
  }

  /** Frees every session. Safe to call twice. */
  release(): Promise<void> {
    return this.model.release();
  }
}
