/**
 * The captioner as the rest of livecap sees it: a handle to a model running in its own worker
 * thread. Frames are copied to the worker, so callers keep theirs.
 *
 *   const captioner = await CaptionerClient.start('models/captioner-synth');
 *   const { text } = await captioner.caption(frame);
 *   await captioner.close();
 *
 * A captioner is named by its spec: a CNN→LSTM model directory (TensorFlow.js layers format),
 * or `onnx:DIR` for a Hugging Face ONNX export (ViT-GPT2 and the like, or Florence-2, whose
 * folder is also recognised without the prefix), `onnx:DIR<TASK>` for Florence-2 with a task.
 * `acquireCaptioner` shares one worker per spec in a process (the model is loaded once however
 * many streams use it); each acquire is paired with a release.
 */
import { resolve } from 'node:path';
import type { BackendPreference } from '../tfjs/runtime.js';
import { WorkerRpc, RPC_DEFAULTS, LOAD_TIMEOUT_MS, type ModelDeadlines } from '../../util/worker-rpc.js';
import { FLORENCE2_CAPTION_TASKS } from '../seq2seq/florence2.js';
import { parseCaptionerSpec, type CaptionerSpec } from '../captioner/spec.js';
import { isFlorence2Dir } from '../seq2seq/model-dir.js';
import type { Frame } from '../../core/frame.js';
import type { Caption, CaptionOptions } from '../../core/caption.js';
import type { CaptionerInfo, CaptionerWorkerApi, CaptionerWorkerData } from './captioner-api.js';

export type { CaptionerInfo };

export class CaptionerClient {
  private constructor(
    private readonly rpc: WorkerRpc<CaptionerWorkerApi>,
    readonly modelDir: string,
    readonly info: CaptionerInfo,
  ) {}

  /**
   * Starts a worker and loads the model in it; rejects with the loader's error if the model is
   * bad. A caption that misses its deadline rejects with `ModelTimeoutError`, and the client
   * carries on with a fresh worker that loads the model again.
   */
  static async start(spec: string, backend?: BackendPreference, deadlines: ModelDeadlines = {}): Promise<CaptionerClient> {
    const { kind, dir: modelDir, task, dtype } = resolveSpec(spec);
    const worker = kind === 'onnx' ? './onnx-captioner-worker.js' : './captioner-worker.js';
    const loadTimeoutMs = deadlines.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
    const rpc = new WorkerRpc<CaptionerWorkerApi>(new URL(worker, import.meta.url), `captioner ${spec}`, { modelDir, backend, task, dtype } satisfies CaptionerWorkerData, {
      timeoutMs: deadlines.timeoutMs ?? RPC_DEFAULTS.timeoutMs,
      setup: { method: 'load', timeoutMs: loadTimeoutMs },
    });
    try {
      const info = await rpc.call('load', [], [], { timeoutMs: loadTimeoutMs });
      return new CaptionerClient(rpc, modelDir, info);
    } catch (err) {
      await rpc.close();
      throw err;
    }
  }

  /** Whether a prompt per caption means anything to this model (Florence-2 takes one). */
  get takesPrompt(): boolean {
    return this.info.task !== undefined;
  }

  /** A Florence-2 task token that is not a captioning task would answer with boxes or regions, not a caption. */
  promptProblem(prompt: string): string | undefined {
    const task = /^<[A-Z][A-Z_]*>/.exec(prompt.trim())?.[0];
    if (task === undefined || (FLORENCE2_CAPTION_TASKS as readonly string[]).includes(task)) return undefined;
    return `task ${task} does not answer with a caption; use ${FLORENCE2_CAPTION_TASKS.join(', ')} or a prompt of your own`;
  }

  get threadId(): number {
    return this.rpc.threadId;
  }

  async caption(frame: Frame, options: CaptionOptions = {}): Promise<Caption> {
    const [result] = await this.captionAll([frame], options);
    return result;
  }

  captionAll(frames: readonly Frame[], options: CaptionOptions = {}): Promise<Caption[]> {
    // new Uint8Array(view) copies into a buffer of its own (a Buffer's slice() would not), so
    // transferring it to the worker never detaches the caller's memory.
    const copies = frames.map((f) => ({ width: f.width, height: f.height, data: new Uint8Array(f.data) }));
    return this.rpc.call(
      'caption',
      [copies, options],
      copies.map((c) => c.data.buffer),
    );
  }

  /** Disposes the model and stops the worker. Safe to call twice. */
  close(): Promise<void> {
    return this.rpc.close('dispose');
  }
}

/** The spec, with a Florence-2 folder given without `onnx:` recognised by its config.json. */
function resolveSpec(spec: string): CaptionerSpec {
  const parsed = parseCaptionerSpec(spec);
  return parsed.kind === 'cnn-lstm' && isFlorence2Dir(parsed.dir) ? { kind: 'onnx', dir: parsed.dir } : parsed;
}

/** One worker per model folder and task: a task is the worker's default for every stream it serves. */
function specKey(spec: string): string {
  const { kind, dir, task, dtype } = resolveSpec(spec);
  return `${kind}:${resolve(dir)}${task ?? ''}?dtype=${dtype ?? 'auto'}`;
}

const shared = new Map<string, { client: Promise<CaptionerClient>; users: number }>();

/**
 * One shared worker per captioner spec; pair every acquire with `releaseCaptioner`. The
 * deadlines of the first acquire of a spec are the ones its worker keeps.
 */
export function acquireCaptioner(spec: string, deadlines: ModelDeadlines = {}): Promise<CaptionerClient> {
  const key = specKey(spec);
  let entry = shared.get(key);
  if (!entry) {
    entry = { client: CaptionerClient.start(spec, undefined, deadlines), users: 0 };
    shared.set(key, entry);
    entry.client.catch(() => shared.delete(key));
  }
  entry.users++;
  return entry.client;
}

export async function releaseCaptioner(spec: string): Promise<void> {
  const key = specKey(spec);
  const entry = shared.get(key);
  if (!entry) return;
  if (--entry.users > 0) return;
  shared.delete(key);
  await (await entry.client.catch(() => undefined))?.close();
}
