/**
 * Worker thread that owns one vision-encoder-decoder captioner (a Hugging Face ONNX export such
 * as ViT-GPT2): its onnxruntime sessions are created here once, frames are captioned here, off
 * the event loop, and `dispose` releases the sessions. It answers as the CNN→LSTM worker does.
 */
import { workerData } from 'node:worker_threads';
import { serveRpc } from './rpc.js';
import { ImageSeq2Seq } from '../seq2seq/image-seq2seq.js';
import type { CaptionOptions, Caption } from '../captioner/captioner.js';
import type { Frame } from '../../media/image.js';
import type { DtypeChoice } from '../seq2seq/dtype.js';

const { modelDir, dtype } = workerData as { modelDir: string; dtype?: DtypeChoice };
let model: Promise<ImageSeq2Seq> | undefined;

serveRpc({
  async load() {
    model ??= ImageSeq2Seq.open(modelDir, { dtype });
    const m = await model;
    // The variant is named unless it is the export's own float32 one.
    return { backend: `onnxruntime (${m.provider}${m.dtype === 'fp32' ? '' : `, ${m.dtype}`})`, inputWidth: m.processor.width, inputHeight: m.processor.height, vocabulary: m.vocabularySize };
  },
  async caption(frames: Frame[], options: CaptionOptions): Promise<Caption[]> {
    if (!model) throw new Error('captioner not loaded');
    const m = await model;
    const out: Caption[] = [];
    for (const frame of frames) {
      const r = await m.caption(frame, { numBeams: options.beamWidth, maxLength: options.maxLength, lengthPenalty: options.lengthPenalty });
      out.push({ text: r.text, score: r.logProbability / Math.max(1, r.tokens.length) });
    }
    return out;
  },
  async dispose() {
    if (model) await (await model).release();
    model = undefined;
  },
});
