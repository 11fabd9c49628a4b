/**
 * Florence-2 benchmark: what livecap's engine costs on top of the model itself.
 *
 * Baseline, in the same run: raw onnxruntime-node sessions driven by hand, the same greedy
 * decode written out with nothing else (vision encoder, prompt embedding, concatenation,
 * encoder, then per token: embed_tokens and the merged decoder with its cache, argmax, and
 * after the first step only the outputs that change fetched, as the engine does).
 * Measured: livecap's Florence2 in this thread (task prompt, shared engine and search, logits
 * processors, post-processing), and through the captioner worker thread (the frame copied to
 * the worker and the caption sent back), which is the path the server takes.
 * Every run makes exactly the same number of tokens (min and max length forced), so the
 * engine and the baseline do the same model work; pixel preparation is livecap's for both.
 *
 *   livecap bench florence2 [--model DIR] [--frames N] [--tokens N] [--task TASK]
 * Without --model, two exports written by the tests' helper are measured: the tests' tiny one
 * (d_model 16) and a wider one (d_model 256, 3+3 layers, 64 image tokens). Their outputs are
 * meaningless, their cost is real. The real Florence-2-base (DaViT, d_model 768, 6+6 layers,
 * 577 image tokens at 768×768) is far larger; run with --model on a pulled copy to measure it.
 */
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { Florence2 } from '../src/models/seq2seq/florence2.js';
import { readHfModelDir } from '../src/models/seq2seq/model-dir.js';
import { CaptionerClient } from '../src/models/worker/captioner-client.js';
import { renderScene } from '../src/synth/render.js';
import { randomScene } from '../src/synth/world.js';
import { Progress } from '../src/util/progress.js';
import { Rng } from '../src/util/rng.js';
import { makeTinyFlorence2, type Florence2Size } from '../test/helpers/tiny-florence2.js';
import { machineLine, summarize } from './machine.js';
import type { Frame } from '../src/core/frame.js';

type Ort = typeof import('onnxruntime-node');
type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
type OrtTensor = InstanceType<Ort['Tensor']>;

const HELP = `usage: livecap bench florence2 [--model DIR] [--frames 20] [--tokens 20] [--task <CAPTION>]

  Caption time per image of a Florence-2 export: livecap's engine (in this thread and through
  the captioner worker) against raw onnxruntime sessions doing the same greedy decode by hand.
  Without --model, exports written with random weights (a tiny one and a wider one).`;

/** The same greedy decode, straight onto onnxruntime: the least any engine could cost. */
class RawFlorence2 {
  private constructor(
    private readonly ort: Ort,
    private readonly vision: Session,
    private readonly embed: Session,
    private readonly encoder: Session,
    private readonly decoder: Session,
    private readonly heads: number,
    private readonly headDim: number,
    private readonly startToken: number,
  ) {}

  static async open(dir: string): Promise<RawFlorence2> {
    const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
    const files = await readHfModelDir(dir, { tokenizer: true, preprocessor: true, florence: true });
    if (files.decoder.kind !== 'merged') throw new Error(`${dir}: the baseline drives decoder_model_merged.onnx only`);
    const options = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' as const, logSeverityLevel: 3 as const };
    const open = (path: string) => ort.InferenceSession.create(path, options);
    const text = files.config.text_config as Record<string, number>;
    const start = (files.generationConfig.decoder_start_token_id ?? text.decoder_start_token_id) as number;
    return new RawFlorence2(
      ort,
      await open(files.visionEncoderPath!),
      await open(files.embedTokensPath!),
      await open(files.encoderPath),
      await open(files.decoder.path),
      text.decoder_attention_heads!,
      text.d_model! / text.decoder_attention_heads!,
      start,
    );
  }

  private ids(ids: readonly number[]): OrtTensor {
    return new this.ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
  }

  async caption(pixels: Float32Array, size: number, prompt: readonly number[], tokens: number): Promise<number[]> {
    const { Tensor } = this.ort;
    const image = (await this.vision.run({ pixel_values: new Tensor('float32', pixels, [1, 3, size, size]) })).image_features!;
    const text = (await this.embed.run({ input_ids: this.ids(prompt) })).inputs_embeds!;
    const [, n, d] = image.dims as [number, number, number];
    const length = n + prompt.length;
    const joined = new Float32Array(length * d);
    joined.set(image.data as Float32Array, 0);
    joined.set(text.data as Float32Array, n * d);
    const mask = new Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]);
    const states = (await this.encoder.run({ inputs_embeds: new Tensor('float32', joined, [1, length, d]), attention_mask: mask })).last_hidden_state!;
    const past: Record<string, OrtTensor> = {};
    for (const name of this.decoder.inputNames) if (name.startsWith('past_key_values.')) past[name] = new Tensor('float32', new Float32Array(0), [1, this.heads, 0, this.headDim]);
    // After the first step only the logits and the self-attention cache are needed back.
    const later = this.decoder.outputNames.filter((name) => !(name.startsWith('present.') && name.includes('.encoder.')));
    const out: number[] = [];
    let last = this.startToken;
    for (let step = 0; step < tokens; step++) {
      const embeds = (await this.embed.run({ input_ids: this.ids([last]) })).inputs_embeds!;
      const feeds = { inputs_embeds: embeds, encoder_hidden_states: states, encoder_attention_mask: mask, use_cache_branch: new Tensor('bool', Uint8Array.of(step > 0 ? 1 : 0), [1]), ...past };
      const result = step === 0 ? await this.decoder.run(feeds) : await this.decoder.run(feeds, later);
      // The cross-attention cache is computed on the first step and passed back unchanged.
      for (const [name, value] of Object.entries(result)) if (name.startsWith('present.')) past[name.replace('present', 'past_key_values')] = value;
      const logits = result.logits!.data as Float32Array;
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
      out.push(best);
      last = best;
    }
    return out;
  }

  async release(): Promise<void> {
    for (const s of [this.vision, this.embed, this.encoder, this.decoder]) await s.release();
  }
}

interface Row {
  model: string;
  path: string;
  stats: ReturnType<typeof summarize>;
}

/**
 * Each frame goes through every path in turn (the order rotating), so that load from anything
 * else on the machine falls on all paths alike rather than on whichever ran at the time.
 */
async function benchOne(label: string, dir: string, frames: Frame[], tokens: number, task: string, written: boolean): Promise<Row[]> {
  const exact = { numBeams: 1, minLength: tokens + 1, maxLength: tokens + 1, noRepeatNgramSize: 0, task };
  const engine = await Florence2.open(dir);
  const raw = await RawFlorence2.open(dir);
  const worker = await CaptionerClient.start(`onnx:${dir}`);
  try {
    const prompt = engine.promptIds(task);
    const size = engine.processor.width;
    // The written exports' generation_config.json forces the length; a user's folder may stop early at EOS.
    const paths: [string, (frame: Frame) => Promise<unknown>][] = [
      [
        'raw onnxruntime sessions (baseline)',
        async (frame) => {
          const out = await raw.caption(engine.processor.toPixelValues(frame), size, prompt, tokens);
          if (out.length !== tokens) throw new Error(`raw decode made ${out.length} tokens`);
        },
      ],
      [
        'livecap engine, this thread',
        async (frame) => {
          const r = await engine.caption(frame, exact);
          if (r.tokens.length !== tokens) throw new Error(`engine made ${r.tokens.length} tokens, expected ${tokens}`);
        },
      ],
      [written ? 'livecap captioner worker' : 'livecap captioner worker (may stop at EOS)', (frame) => worker.caption(frame, { beamWidth: 1, maxLength: tokens + 1, prompt: task })],
    ];
    for (const [, fn] of paths) for (let i = 0; i < 3; i++) await fn(frames[i % frames.length]!); // warm-up
    const ms = paths.map(() => [] as number[]);
    const bar = new Progress({ label, total: frames.length });
    for (const [f, frame] of frames.entries()) {
      for (let k = 0; k < paths.length; k++) {
        const p = (f + k) % paths.length;
        const t0 = performance.now();
        await paths[p]![1](frame);
        ms[p]!.push(performance.now() - t0);
      }
      bar.tick();
    }
    return paths.map(([path], p) => ({ model: label, path, stats: summarize(ms[p]!) }));
  } finally {
    await worker.close();
    await raw.release();
    await engine.release();
  }
}

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { model: { type: 'string' }, frames: { type: 'string' }, tokens: { type: 'string' }, task: { type: 'string' } });
  const count = numberFlag('frames', values.frames, 20);
  const tokens = numberFlag('tokens', values.tokens, 20);
  const task = values.task ?? '<CAPTION>';
  const rng = new Rng(7);
  const frames = Array.from({ length: count }, () => renderScene(randomScene(rng), 320, 240));
  const temp = values.model ? undefined : await mkdtemp(join(tmpdir(), 'livecap-bench-florence2-'));
  try {
    const models: [string, string][] = [];
    if (values.model) models.push([values.model, values.model]);
    else {
      const sizes: [string, Florence2Size][] = [
        ['tiny (tests): d_model 16, 2+2 layers, 16 image tokens', {}],
        ['wider: d_model 256, 3+3 layers, 4 heads, ffn 1024, 64 image tokens', { dModel: 256, layers: 3, heads: 4, ffn: 1024, imageSize: 96, patch: 12 }],
      ];
      for (const [i, [label, size]] of sizes.entries()) {
        const dir = join(temp!, `m${i}`);
        await makeTinyFlorence2({ dir, size, generation: { num_beams: 1, min_length: tokens + 1, max_length: tokens + 1, no_repeat_ngram_size: 0 } });
        models.push([label, dir]);
      }
    }
    const rows: Row[] = [];
    for (const [label, dir] of models) rows.push(...(await benchOne(label, dir, frames, tokens, task, !values.model)));
    console.log(`florence2 benchmark: ${machineLine('onnxruntime-node cpu')}`);
    console.log(`${count} frames (320×240 synthetic scenes) per path, greedy, exactly ${tokens} tokens each, task ${task}\n`);
    console.log('| model | path | mean ms | p50 ms | p95 ms | vs baseline |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) {
      const base = rows.find((b) => b.model === r.model)!.stats.mean;
      console.log(`| ${r.model} | ${r.path} | ${r.stats.mean.toFixed(2)} | ${r.stats.p50.toFixed(2)} | ${r.stats.p95.toFixed(2)} | ×${(r.stats.mean / base).toFixed(2)} |`);
    }
    return 0;
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}
