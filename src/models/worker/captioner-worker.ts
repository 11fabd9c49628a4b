/**
 * Worker thread that owns one CNN→LSTM captioner: TensorFlow.js and the model are loaded here
 * once, and frames are captioned here, off the event loop.
 */
import { workerData } from 'node:worker_threads';
import { serveRpc } from '../../util/worker-rpc.js';
import { loadTf } from '../tfjs/runtime.js';
import { CnnLstmCaptioner } from '../captioner/captioner.js';
import type { Frame } from '../../core/frame.js';
import type { CaptionOptions } from '../../core/caption.js';
import type { CaptionerWorkerApi, CaptionerWorkerData } from './captioner-api.js';

const { modelDir, backend } = workerData as CaptionerWorkerData;
let captioner: Promise<CnnLstmCaptioner> | undefined;
let backendDescription = '';

function model(): Promise<CnnLstmCaptioner> {
  captioner ??= loadTf(backend).then((rt) => {
    backendDescription = rt.description;
    return CnnLstmCaptioner.load(rt.tf, modelDir);
  });
  return captioner;
}

const handlers: CaptionerWorkerApi = {
  async load() {
    const m = await model();
    return {
      backend: backendDescription,
      inputWidth: m.shapes.inputWidth,
      inputHeight: m.shapes.inputHeight,
      vocabulary: m.vocabulary.size,
      domain: m.domain ? (m.manifest.domain?.description ?? 'It has a domain detector but no description of its domain.') : undefined,
    };
  },
  async caption(frames: Frame[], options: CaptionOptions) {
    return (await model()).captionAll(frames, options);
  },
  async dispose() {
    if (captioner) (await captioner).dispose();
    captioner = undefined;
  },
};

serveRpc(handlers);
