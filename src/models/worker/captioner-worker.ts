/**
 * Worker thread that owns one CNN→LSTM captioner: TensorFlow.js and the model are loaded here
 * once, and frames are captioned here, off the event loop.
 */
import { workerData } from 'node:worker_threads';
import { serveRpc } from './rpc.js';
import { loadTf, type BackendPreference } from '../tfjs/runtime.js';
import { CnnLstmCaptioner, type CaptionOptions } from '../captioner/captioner.js';
import type { Frame } from '../../media/image.js';

const { modelDir, backend } = workerData as { modelDir: string; backend?: BackendPreference };
let captioner: Promise<CnnLstmCaptioner> | undefined;
let backendDescription = '';

function model(): Promise<CnnLstmCaptioner> {
  captioner ??= loadTf(backend).then((rt) => {
    backendDescription = rt.description;
    return CnnLstmCaptioner.load(rt.tf, modelDir);
  });
  return captioner;
}

serveRpc({
  async load() {
    const m = await model();
    return { backend: backendDescription, inputWidth: m.shapes.inputWidth, inputHeight: m.shapes.inputHeight, vocabulary: m.vocabulary.size, domain: m.domain ? m.manifest.domain?.description ?? 'It has a domain detector but no description of its domain.' : undefined };
  },
  async caption(frames: Frame[], options: CaptionOptions) {
    return (await model()).captionAll(frames, options);
  },
  async dispose() {
    if (captioner) (await captioner).dispose();
    captioner = undefined;
  },
});
