/**
 * Worker thread that owns one captioner from a Hugging Face ONNX export: a
 * vision-encoder-decoder (ViT-GPT2 and the like) or a Florence-2 export (config.json
 * model_type "florence2", with a default task and a task per call). Its onnxruntime sessions
 * are created here once, frames are captioned here, off the event loop, and `dispose` releases
 * the sessions. It answers as the CNN→LSTM worker does.
 */
import { existsSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { serveRpc } from '../../util/worker-rpc.js';
import { ImageSeq2Seq } from '../seq2seq/image-seq2seq.js';
import { Florence2 } from '../seq2seq/florence2.js';
import { isFlorence2Dir } from '../seq2seq/model-dir.js';
import type { CaptionerWorkerApi, CaptionerWorkerData } from './captioner-api.js';
import type { Frame } from '../../core/frame.js';
import type { CaptionOptions, Caption } from '../../core/caption.js';

const { modelDir, task, dtype } = workerData as CaptionerWorkerData;
let model: Promise<ImageSeq2Seq | Florence2> | undefined;

function open(): Promise<ImageSeq2Seq | Florence2> {
  if (isFlorence2Dir(modelDir)) return Florence2.open(modelDir, { task, dtype });
  // A missing folder is reported as such by the loader below.
  if (task !== undefined && existsSync(modelDir)) return Promise.reject(new Error(`${modelDir}: a task (${task}) is given, but only Florence-2 exports take one`));
  return ImageSeq2Seq.open(modelDir, { dtype });
}

const handlers: CaptionerWorkerApi = {
  async load() {
    model ??= open();
    const m = await model;
    // The variant is named unless it is the export's own float32 one.
    const info = { backend: `onnxruntime (${m.provider}${m.dtype === 'fp32' ? '' : `, ${m.dtype}`})`, inputWidth: m.processor.width, inputHeight: m.processor.height, vocabulary: m.vocabularySize };
    return m instanceof Florence2 ? { ...info, task: m.defaultTask } : info;
  },
  async caption(frames: Frame[], options: CaptionOptions): Promise<Caption[]> {
    if (!model) throw new Error('captioner not loaded');
    const m = await model;
    const out: Caption[] = [];
    for (const frame of frames) {
      const generation = { numBeams: options.beamWidth, maxLength: options.maxLength, lengthPenalty: options.lengthPenalty };
      // Only Florence-2 takes a task; the other exports have no prompt to put it in.
      const r = m instanceof Florence2 ? await m.caption(frame, { ...generation, task: options.prompt }) : await m.caption(frame, generation);
      out.push({ text: r.text, score: r.logProbability / Math.max(1, r.tokens.length) });
    }
    return out;
  },
  async dispose() {
    if (model) await (await model).release();
    model = undefined;
  },
};

serveRpc(handlers);
