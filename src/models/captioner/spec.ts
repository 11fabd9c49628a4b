/** `onnx:DIR` is an ONNX vision-encoder-decoder export; anything else a CNN→LSTM model directory. */
export function parseCaptionerSpec(spec: string): { kind: 'onnx' | 'cnn-lstm'; dir: string } {
  if (spec.startsWith('onnx:')) {
    const dir = spec.slice('onnx:'.length);
    if (!dir) throw new Error(`captioner 'onnx:' needs a folder: onnx:DIR`);
    return { kind: 'onnx', dir };
  }
  return { kind: 'cnn-lstm', dir: spec };
}
