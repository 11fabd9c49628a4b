/**
 * Worker thread that owns one text-to-text summarizer (a Hugging Face ONNX export): its
 * onnxruntime sessions are created here once, search runs here, and `dispose` releases them.
 */
import { workerData } from 'node:worker_threads';
import { serveRpc } from '../../util/worker-rpc.js';
import { TextSeq2Seq } from '../seq2seq/text-seq2seq.js';
import type { GenerationOverrides } from '../seq2seq/generation-config.js';
import type { DtypeChoice } from '../seq2seq/dtype.js';

const { modelDir, generation, dtype } = workerData as { modelDir: string; generation?: GenerationOverrides; dtype?: DtypeChoice };
let model: Promise<TextSeq2Seq> | undefined;

const handlers = {
  async load() {
    model ??= TextSeq2Seq.open(modelDir, { generation, dtype });
    const m = await model;
    return { provider: m.provider, dtype: m.dtype, generation: m.generation };
  },
  async summarize(text: string, overrides: GenerationOverrides) {
    if (!model) throw new Error('summarizer not loaded');
    const started = performance.now();
    const r = await (await model).generate(text, overrides);
    return { text: r.text, tokens: r.tokens.length, inputTokens: r.inputTokens, ms: performance.now() - started };
  },
  async dispose() {
    if (model) await (await model).release();
    model = undefined;
  },
};

/** What the summarizer worker serves (checked on the client's side too). */
export type SummarizerWorkerApi = typeof handlers;

serveRpc(handlers);
