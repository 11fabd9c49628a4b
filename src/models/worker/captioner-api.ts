/**
 * What a captioner worker serves, whichever model it runs (a CNN→LSTM folder or an ONNX
 * export): the client and both workers are checked against these types.
 */
import type { Caption, CaptionOptions } from '../../core/caption.js';
import type { Frame } from '../../core/frame.js';
import type { BackendPreference } from '../tfjs/runtime.js';
import type { DtypeChoice } from '../seq2seq/dtype.js';

export interface CaptionerInfo {
  backend: string;
  inputWidth: number;
  inputHeight: number;
  vocabulary: number;
  /**
   * What the model knows, in words, when it can tell frames beyond it (its captions then carry
   * `outOfDomain`); absent for a model with no domain detector.
   */
  domain?: string;
  /** The default task of a captioner that takes one (Florence-2); absent for the others. */
  task?: string;
}

/** What a captioner worker is started with. */
export interface CaptionerWorkerData {
  modelDir: string;
  backend?: BackendPreference;
  task?: string;
  dtype?: DtypeChoice;
}

export type CaptionerWorkerApi = {
  load(): Promise<CaptionerInfo>;
  caption(frames: Frame[], options: CaptionOptions): Promise<Caption[]>;
  dispose(): Promise<void>;
};
