/**
 * The captioner as the rest of livecap sees it: a handle to a model running in its own worker
 * thread. Frames are copied to the worker, so callers keep theirs.
 *
 *   const captioner = await CaptionerClient.start('models/captioner-synth');
 *   const { text } = await captioner.caption(frame);
 *   await captioner.close();
 *
 * A captioner is named by its spec: a CNN→LSTM model directory (TensorFlow.js layers format),
 * or `onnx:DIR` for a Hugging Face vision-encoder-decoder ONNX export (ViT-GPT2 and the like).
 * `acquireCaptioner` shares one worker per spec in a process (the model is loaded once however
 * many streams use it); each acquire is paired with a release.
 */
import { resolve } from 'node:path';
import type { Frame } from '../../media/image.js';
import type { Caption, CaptionOptions } from '../captioner/captioner.js';
import type { BackendPreference } from '../tfjs/runtime.js';
import { WorkerRpc, RPC_DEFAULTS, LOAD_TIMEOUT_MS, type ModelDeadlines } from './rpc.js';
import { parseCaptionerSpec } from '../captioner/spec.js';

export interface CaptionerInfo {
  backend: string;
  inputWidth: number;
  inputHeight: number;
  vocabulary: number;
}

export class CaptionerClient {
  private constructor(private readonly rpc: WorkerRpc, readonly modelDir: string, readonly info: CaptionerInfo) {}

  /**
   * Starts a worker and loads the model in it; rejects with the loader's error if the model is
   * bad. A caption that misses its deadline rejects with `ModelTimeoutError`, and the client
   * carries on with a fresh worker that loads the model again.
   */
  static async start(spec: string, backend?: BackendPreference, deadlines: ModelDeadlines = {}): Promise<CaptionerClient> {
    const { kind, dir: modelDir, dtype } = parseCaptionerSpec(spec);
    const worker = kind === 'onnx' ? './onnx-captioner-worker.js' : './captioner-worker.js';
    const loadTimeoutMs = deadlines.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
    const rpc = new WorkerRpc(new URL(worker, import.meta.url), `captioner ${spec}`, { modelDir, backend, dtype }, {
      timeoutMs: deadlines.timeoutMs ?? RPC_DEFAULTS.timeoutMs,
      setup: { method: 'load', timeoutMs: loadTimeoutMs },
    });
    try {
      const info = await rpc.call<CaptionerInfo>('load', [], [], { timeoutMs: loadTimeoutMs });
      return new CaptionerClient(rpc, modelDir, info);
    } catch (err) {
      await rpc.close();
      throw err;
    }
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
    return this.rpc.call<Caption[]>('caption', [copies, options], copies.map((c) => c.data.buffer));
  }

  /** Disposes the model and stops the worker. Safe to call twice. */
  close(): Promise<void> {
    return this.rpc.close('dispose');
  }
}

function specKey(spec: string): string {
  const { kind, dir, dtype } = parseCaptionerSpec(spec);
  return `${kind}:${resolve(dir)}?dtype=${dtype ?? 'auto'}`;
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
