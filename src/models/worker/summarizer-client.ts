/**
 * The summarizer as the rest of livecap sees it: a BART-style model running in its own worker
 * thread, turning a window of captions into one sentence.
 *
 *   const summarizer = await SummarizerClient.start('models/summarizer-synth');
 *   const { text } = await summarizer.summarize(['a red circle on the grass', 'a blue star in the sky']);
 *   await summarizer.close();
 */
import type { GenerationOptions, GenerationOverrides } from '../seq2seq/generation-config.js';
import { WorkerRpc, RPC_DEFAULTS, LOAD_TIMEOUT_MS, type ModelDeadlines } from '../../util/worker-rpc.js';
import { captionsAsText } from '../seq2seq/summary-input.js';
import { splitModelSpec, type ModelDtype } from '../seq2seq/dtype.js';
import type { SummarizerWorkerApi } from './summarizer-worker.js';

export interface Summary {
  text: string;
  /** Generated tokens. */
  tokens: number;
  inputTokens: number;
  ms: number;
}

export class SummarizerClient {
  private constructor(
    private readonly rpc: WorkerRpc<SummarizerWorkerApi>,
    readonly modelDir: string,
    readonly provider: string,
    /** The variant that was loaded (fp32, q8…). */
    readonly dtype: ModelDtype,
    readonly generation: GenerationOptions,
  ) {}

  /**
   * Starts a worker and opens the model in it; rejects with the loader's error if the folder is
   * bad. A summary that misses its deadline rejects with `ModelTimeoutError`, and the client
   * carries on with a fresh worker that opens the model again. `spec` is the model folder,
   * with `?dtype=NAME` after it to choose a variant (seq2seq/dtype.ts).
   */
  static async start(spec: string, generation: GenerationOverrides = {}, deadlines: ModelDeadlines = {}): Promise<SummarizerClient> {
    const { dir: modelDir, dtype } = splitModelSpec(spec);
    const loadTimeoutMs = deadlines.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
    const rpc = new WorkerRpc<SummarizerWorkerApi>(
      new URL('./summarizer-worker.js', import.meta.url),
      `summarizer ${spec}`,
      { modelDir, generation, dtype },
      {
        timeoutMs: deadlines.timeoutMs ?? RPC_DEFAULTS.timeoutMs,
        setup: { method: 'load', timeoutMs: loadTimeoutMs },
      },
    );
    try {
      const info = await rpc.call('load', [], [], { timeoutMs: loadTimeoutMs });
      return new SummarizerClient(rpc, modelDir, info.provider, info.dtype, info.generation);
    } catch (err) {
      await rpc.close();
      throw err;
    }
  }

  get threadId(): number {
    return this.rpc.threadId;
  }

  summarize(captions: readonly string[], overrides: GenerationOverrides = {}): Promise<Summary> {
    return this.rpc.call('summarize', [captionsAsText(captions), overrides]);
  }

  /** Releases the sessions and stops the worker. Safe to call twice. */
  close(): Promise<void> {
    return this.rpc.close('dispose');
  }
}
