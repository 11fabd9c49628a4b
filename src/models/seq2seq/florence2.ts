/**
 * An image captioner from a Florence-2 ONNX export (onnx-community/Florence-2-base-ft and the
 * like): config.json says model_type "florence2", and onnx/ holds four graphs:
 *
 *   vision_encoder.onnx        pixel_values [1, 3, H, W] → image_features [1, N, D]
 *   embed_tokens.onnx          input_ids [1, T] → inputs_embeds [1, T, D]
 *   encoder_model.onnx         inputs_embeds [1, N + T, D], attention_mask → last_hidden_state
 *   decoder_model_merged.onnx  inputs_embeds, encoder_hidden_states, encoder_attention_mask,
 *                              past_key_values.*, use_cache_branch → logits, present.*
 *
 * A caption is asked for with a task: the image's features come first, then the embedded
 * prompt of the task, and the encoder reads both; the decoder is searched as for any seq2seq
 * model (encoder-decoder.ts), its tokens embedded by embed_tokens.onnx. The tasks and their
 * prompts come from preprocessor_config.json (`task_prompts_without_inputs`), as Florence-2's
 * processor reads them: `<CAPTION>` asks "What does the image describe?". Only tasks that
 * answer in plain text can be run here (the captioning ones, and `<OCR>`); a text that names
 * no task is used as the prompt itself.
 *
 *   const model = await Florence2.open('models/onnx-community/Florence-2-base-ft');
 *   const { text } = await model.caption(frame, { task: '<DETAILED_CAPTION>' });
 *
 * Run it in a worker thread (onnx-captioner-worker.ts): inference blocks the thread.
 */
import type { OnnxSession, OnnxTensor } from '../onnx/runtime.js';
import { openSession } from '../onnx/runtime.js';
import { EncoderDecoder, type OpenOptions } from './encoder-decoder.js';
import { Seq2SeqModel } from './seq2seq-model.js';
import type { GenerationOverrides } from './generation-config.js';
import type { Generated } from './search.js';
import { imageProcessor, type ImageProcessor } from '../vision/image-processor.js';
import type { Frame } from '../../core/frame.js';

/**
 * The longest output, in tokens, when neither generation_config.json nor config.json sets
 * max_length (and the decoder has as many positions): Hugging Face's default of 20 would cut
 * the detailed tasks' paragraphs short.
 */
export const FLORENCE2_MAX_LENGTH = 256;

/** The task a Florence-2 captioner runs unless told otherwise. */
export const DEFAULT_FLORENCE2_TASK = '<CAPTION>';

/** The three captioning tasks of Florence-2, shortest caption first. */
export const FLORENCE2_CAPTION_TASKS = ['<CAPTION>', '<DETAILED_CAPTION>', '<MORE_DETAILED_CAPTION>'] as const;

export interface Florence2Result extends Generated {
  /** The caption, after Florence-2's post-processing for plain-text tasks. */
  text: string;
  /** The prompt the task was turned into. */
  prompt: string;
}

function stringMap(value: unknown, field: string, where: string): Map<string, string> {
  if (value === undefined) return new Map();
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new Error(`${where}: ${field} must map task names to strings`);
  }
  return new Map(Object.entries(value as Record<string, string>));
}

/**
 * Florence-2's tasks as its preprocessor_config.json describes them, and the prompt and
 * post-processing of each, as the processor does it.
 */
export class Florence2Tasks {
  private readonly withoutInputs: Map<string, string>;
  private readonly withInput: Map<string, string>;
  private readonly answerTypes: Map<string, string>;

  constructor(
    preprocessor: Record<string, unknown>,
    private readonly where: string,
  ) {
    this.withoutInputs = stringMap(preprocessor.task_prompts_without_inputs, 'task_prompts_without_inputs', where);
    this.withInput = stringMap(preprocessor.task_prompts_with_input, 'task_prompts_with_input', where);
    this.answerTypes = stringMap(preprocessor.tasks_answer_post_processing_type, 'tasks_answer_post_processing_type', where);
  }

  /** The task names that take no input, as the export lists them. */
  get known(): string[] {
    return [...this.withoutInputs.keys()];
  }

  /**
   * The prompt for `task`: a task without input gives its prompt; a text containing a task
   * that takes input gives that task's prompt with the text in place of `{input}`; any other
   * text is the prompt itself. Throws for tasks whose answers are not plain text (boxes,
   * regions), which a captioner cannot return.
   */
  prompt(task: string): string {
    if (typeof task !== 'string' || task.trim() === '') throw new Error(`${this.where}: a Florence-2 task must be a non-empty string`);
    const type = this.answerTypes.get(task) ?? 'pure_text';
    if (type !== 'pure_text') {
      const plain = [...this.withoutInputs.keys()].filter((t) => (this.answerTypes.get(t) ?? 'pure_text') === 'pure_text');
      throw new Error(`${this.where}: task ${task} answers with ${type}, not a caption; plain-text tasks: ${plain.join(', ')}`);
    }
    const direct = this.withoutInputs.get(task);
    if (direct !== undefined) return direct;
    for (const [name, template] of this.withInput) {
      if (task.includes(name)) {
        if ((this.answerTypes.get(name) ?? 'pure_text') !== 'pure_text') throw new Error(`${this.where}: task ${name} answers with ${this.answerTypes.get(name)}, not a caption`);
        return template.replaceAll('{input}', task).replaceAll(name, '');
      }
    }
    return task;
  }

  /** A plain-text answer as Florence-2's processor gives it: the text without <s>, </s> and <pad>. */
  static answer(decoded: string): string {
    return decoded.replaceAll('<s>', '').replaceAll('</s>', '').replaceAll('<pad>', '').trim();
  }
}

export class Florence2 extends Seq2SeqModel {
  private released = false;

  private constructor(
    model: EncoderDecoder,
    private readonly vision: OnnxSession,
    readonly processor: ImageProcessor,
    readonly tasks: Florence2Tasks,
    /** The task run when a call names none. */
    readonly defaultTask: string,
    /** FLORENCE2_MAX_LENGTH where the export sets no max_length. */
    private readonly maxLength: number | undefined,
    /** The encoder's positions: image tokens and prompt together must fit. */
    private readonly positions: number | undefined,
  ) {
    super(model);
  }

  /**
   * Opens the export's sessions. `task` is the default task (`<CAPTION>` unless given); it is
   * checked here, so a bad one fails at load time rather than at the first frame.
   */
  static async open(dir: string, options: OpenOptions & { task?: string } = {}): Promise<Florence2> {
    const model = await EncoderDecoder.open(dir, 'inputs_embeds', options);
    let vision: OnnxSession | undefined;
    try {
      const preprocessorPath = `${dir}/preprocessor_config.json`;
      const processor = imageProcessor(model.files.preprocessor!, preprocessorPath);
      const tasks = new Florence2Tasks(model.files.preprocessor!, preprocessorPath);
      const task = options.task ?? DEFAULT_FLORENCE2_TASK;
      tasks.prompt(task);
      vision = await openSession(model.files.visionEncoderPath!, options.provider);
      if (!vision.inputNames.includes('pixel_values')) throw new Error(`${vision.path}: not a vision encoder: it lacks input 'pixel_values' (its inputs: ${vision.inputNames.join(', ')})`);
      if (!vision.outputNames.includes('image_features'))
        throw new Error(`${vision.path}: not a Florence-2 vision encoder: it has no 'image_features' output (its outputs: ${vision.outputNames.join(', ')})`);
      const dims = vision.inputDims.pixel_values;
      const fixed = (i: number) => (typeof dims?.[i] === 'number' ? (dims[i] as number) : undefined);
      if ((fixed(2) !== undefined && fixed(2) !== processor.height) || (fixed(3) !== undefined && fixed(3) !== processor.width)) {
        throw new Error(`${vision.path}: the encoder takes ${fixed(3)}×${fixed(2)} images, preprocessor_config.json makes ${processor.width}×${processor.height}`);
      }
      const files = model.files;
      const text = (files.config.text_config ?? {}) as Record<string, unknown>;
      const setsMax = [files.generationConfig, files.config, text].some((c) => c.max_length !== undefined) || options.generation?.maxLength !== undefined;
      // Never past the decoder's position table.
      const positions = typeof text.max_position_embeddings === 'number' ? text.max_position_embeddings : undefined;
      return new Florence2(model, vision, processor, tasks, task, setsMax ? undefined : Math.min(FLORENCE2_MAX_LENGTH, positions ?? FLORENCE2_MAX_LENGTH), positions);
    } catch (err) {
      await Promise.all([model.release(), vision?.release()]);
      throw err;
    }
  }

  /** The prompt's token ids, the tokenizer's <s> and </s> included, as the processor makes them. */
  promptIds(task: string): number[] {
    return this.model.tokenizer.encode(this.tasks.prompt(task)).ids;
  }

  /**
   * Captions `frame` with `task` (the default task if absent) and the generation options of
   * the export, overridden by `overrides`.
   */
  async caption(frame: Frame, options: GenerationOverrides & { task?: string } = {}): Promise<Florence2Result> {
    if (this.released) throw new Error(`${this.dir}: model was released`);
    const { task = this.defaultTask, ...given } = options;
    const overrides = given.maxLength === undefined && this.maxLength !== undefined ? { ...given, maxLength: this.maxLength } : given;
    const prompt = this.tasks.prompt(task);
    const ids = this.model.tokenizer.encode(prompt).ids;
    const { width, height } = this.processor;
    const pixels = { type: 'float32' as const, data: this.processor.toPixelValues(frame), dims: [1, 3, height, width] };
    const { image_features: image } = await this.vision.run({ pixel_values: pixels }, ['image_features']);
    if (image?.type !== 'float32' || image.dims.length !== 3) throw new Error(`${this.vision.path}: returned no [1, N, D] float image_features`);
    const text = await this.model.embed(ids);
    const [, n, d] = image.dims as [number, number, number];
    if (text.dims[2] !== d) throw new Error(`${this.dir}: image features have width ${d}, token embeddings ${text.dims[2]}`);
    // The image comes first, then the prompt; every position is attended to.
    const length = n + ids.length;
    if (this.positions !== undefined && length > this.positions) {
      throw new Error(`${this.dir}: the prompt is too long: ${n} image tokens and ${ids.length} prompt tokens, the encoder has ${this.positions} positions`);
    }
    const embeds = new Float32Array(length * d);
    embeds.set(image.data.subarray(0, n * d), 0);
    embeds.set(text.data, n * d);
    const mask = { type: 'int64' as const, data: new BigInt64Array(length).fill(1n), dims: [1, length] };
    const feeds: Record<string, OnnxTensor> = { inputs_embeds: { type: 'float32', data: embeds, dims: [1, length, d] } };
    if (this.model.encoder.inputNames.includes('attention_mask')) feeds.attention_mask = mask;
    const result = await this.model.generate(feeds, mask, overrides);
    const decoded = this.model.tokenizer.decode(result.tokens, { skip_special_tokens: false });
    return { tokens: result.tokens, logProbability: result.logProbability, score: result.score, text: Florence2Tasks.answer(decoded), prompt };
  }

  /** Frees every session. Safe to call twice. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all([this.model.release(), this.vision.release()]);
  }
}
