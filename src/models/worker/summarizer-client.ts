/**
 * The summarizer as the rest of livecap sees it: a BART-style model running in its own worker
 * thread, turning a window of captions into one sentence.
 *
 *   const summarizer = await SummarizerClient.start('models/summarizer-synth');
 *   const { text } = await summarizer.summarize(['a red circle on the grass', 'a blue star in the sky']);
 *   await summarizer.close();
 */
import type { GenerationOptions, GenerationOverrides } from '../seq2seq/generation-config.js';
import { WorkerRpc } from './rpc.js';
import { captionsAsText } from '../seq2seq/summary-input.js';

export interface Summary {
  text: string;
  /** Generated tokens. */
  tokens: number;
  inputTokens: number;
  ms: number;
}

export class SummarizerClient {
  private constructor(private readonly rpc: WorkerRpc, readonly modelDir: string, readonly provider: string, readonly generation: GenerationOptions) {}

  /** Starts a worker and opens the model in it; rejects with the loader's error if the folder is bad. */
  static async start(modelDir: string, generation: GenerationOverrides = {}): Promise<SummarizerClient> {
    const rpc = new WorkerRpc(new URL('./summarizer-worker.js', import.meta.url), `summarizer ${modelDir}`, { modelDir, generation });
    try {
      const info = await rpc.call<{ provider: string; generation: GenerationOptions }>('load');
      return new SummarizerClient(rpc, modelDir, info.provider, info.generation);
    } catch (err) {
      await rpc.close();
      throw err;
    }
  }

  get threadId(): number {
    return this.rpc.threadId;
  }

  summarize(captions: readonly string[], overrides: GenerationOverrides = {}): Promise<Summary> {
    return this.rpc.call<Summary>('summarize', [captionsAsText(captions), overrides]);
  }

  /** Releases the sessions and stops the worker. Safe to call twice. */
  async close(): Promise<void> {
    await this.rpc.call('dispose').catch(() => {});
    await this.rpc.close();
  }
}
