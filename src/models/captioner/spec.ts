/**
 * A captioner spec string: `onnx:DIR` is a Hugging Face ONNX export (a vision-encoder-decoder
 * such as ViT-GPT2, or Florence-2); `onnx:DIR<TASK>` the same with a Florence-2 task such as
 * `<DETAILED_CAPTION>`; anything else a CNN→LSTM model directory.
 *
 *   parseCaptionerSpec('onnx:models/onnx-community/Florence-2-base-ft<DETAILED_CAPTION>')
 *   // { kind: 'onnx', dir: 'models/onnx-community/Florence-2-base-ft', task: '<DETAILED_CAPTION>' }
 */
export interface CaptionerSpec {
  kind: 'onnx' | 'cnn-lstm';
  dir: string;
  /** A Florence-2 task token, for `onnx:` specs that name one. */
  task?: string;
}

/** A Florence-2 task token: `<CAPTION>`, `<DETAILED_CAPTION>`, … */
export const TASK_TOKEN = /^<[A-Z][A-Z_]*>$/;

export function parseCaptionerSpec(spec: string): CaptionerSpec {
  if (spec.startsWith('onnx:')) {
    const rest = spec.slice('onnx:'.length);
    const task = /<[A-Z][A-Z_]*>$/.exec(rest)?.[0];
    const dir = task ? rest.slice(0, -task.length) : rest;
    if (!dir) throw new Error(`captioner '${spec}' needs a folder: onnx:DIR or onnx:DIR<TASK>`);
    return task ? { kind: 'onnx', dir, task } : { kind: 'onnx', dir };
  }
  return { kind: 'cnn-lstm', dir: spec };
}

/** The spec string of an ONNX export with an optional task (what parseCaptionerSpec reads back). */
export function onnxCaptionerSpec(dir: string, task?: string): string {
  if (task !== undefined && !TASK_TOKEN.test(task)) throw new Error(`task must be a task token such as <CAPTION> or <DETAILED_CAPTION>, got ${JSON.stringify(task)}`);
  return `onnx:${dir}${task ?? ''}`;
}
