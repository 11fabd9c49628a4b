/**
 * A captioner spec string: `onnx:DIR` is a Hugging Face ONNX export (a vision-encoder-decoder
 * such as ViT-GPT2, or Florence-2); `onnx:DIR<TASK>` the same with a Florence-2 task such as
 * `<DETAILED_CAPTION>`; either may end with the variant to run (`?dtype=q8`, see
 * seq2seq/dtype.ts); anything else a CNN→LSTM model directory.
 *
 *   parseCaptionerSpec('onnx:models/onnx-community/Florence-2-base-ft<DETAILED_CAPTION>?dtype=q8')
 *   // { kind: 'onnx', dir: 'models/onnx-community/Florence-2-base-ft', task: '<DETAILED_CAPTION>', dtype: 'q8' }
 */
import { splitModelSpec, withDtype, type DtypeChoice } from '../seq2seq/dtype.js';

export interface CaptionerSpec {
  kind: 'onnx' | 'cnn-lstm';
  dir: string;
  /** A Florence-2 task token, for `onnx:` specs that name one. */
  task?: string;
  /** The variant of an ONNX export to run, when the spec names one. */
  dtype?: DtypeChoice;
}

/** A Florence-2 task token: `<CAPTION>`, `<DETAILED_CAPTION>`, … */
export const TASK_TOKEN = /^<[A-Z][A-Z_]*>$/;

export function parseCaptionerSpec(spec: string): CaptionerSpec {
  if (spec.startsWith('onnx:')) {
    const { dir: rest, dtype } = splitModelSpec(spec.slice('onnx:'.length));
    const task = /<[A-Z][A-Z_]*>$/.exec(rest)?.[0];
    const dir = task ? rest.slice(0, -task.length) : rest;
    if (!dir) throw new Error(`captioner '${spec}' needs a folder: onnx:DIR or onnx:DIR<TASK>`);
    return { kind: 'onnx', dir, ...(task && { task }), ...(dtype && { dtype }) };
  }
  if (/\?dtype=[^/]*$/.test(spec)) throw new Error(`${spec}: ?dtype= chooses among the files of an ONNX export (onnx:DIR?dtype=…); a CNN→LSTM model has one set of weights`);
  return { kind: 'cnn-lstm', dir: spec };
}

/** The spec string of an ONNX export with an optional task (what parseCaptionerSpec reads back). */
export function onnxCaptionerSpec(dir: string, task?: string): string {
  if (task !== undefined && !TASK_TOKEN.test(task)) throw new Error(`task must be a task token such as <CAPTION> or <DETAILED_CAPTION>, got ${JSON.stringify(task)}`);
  return `onnx:${dir}${task ?? ''}`;
}

/** An ONNX captioner spec with `dtype` as its variant unless it names one; other specs as they are. */
export function captionerSpecWithDtype(spec: string, dtype: DtypeChoice | undefined): string {
  return spec.startsWith('onnx:') ? withDtype(spec, dtype) : spec;
}
