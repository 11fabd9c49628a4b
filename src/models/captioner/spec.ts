/**
 * Captioner specs: `onnx:DIR` is an ONNX vision-encoder-decoder export, optionally with the
 * variant to run (`onnx:DIR?dtype=q8`, see seq2seq/dtype.ts); anything else a CNN→LSTM model
 * directory.
 */
import { splitModelSpec, withDtype, type DtypeChoice } from '../seq2seq/dtype.js';

export function parseCaptionerSpec(spec: string): { kind: 'onnx' | 'cnn-lstm'; dir: string; dtype?: DtypeChoice } {
  if (spec.startsWith('onnx:')) {
    const { dir, dtype } = splitModelSpec(spec.slice('onnx:'.length));
    if (!dir) throw new Error(`captioner 'onnx:' needs a folder: onnx:DIR`);
    return { kind: 'onnx', dir, dtype };
  }
  if (/\?dtype=[^/]*$/.test(spec)) throw new Error(`${spec}: ?dtype= chooses among the files of an ONNX export (onnx:DIR?dtype=…); a CNN→LSTM model has one set of weights`);
  return { kind: 'cnn-lstm', dir: spec };
}

/** An ONNX captioner spec with `dtype` as its variant unless it names one; other specs as they are. */
export function captionerSpecWithDtype(spec: string, dtype: DtypeChoice | undefined): string {
  return spec.startsWith('onnx:') ? withDtype(spec, dtype) : spec;
}
