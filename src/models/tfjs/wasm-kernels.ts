import type { Tf } from './tf.js';
/**
 * Kernels that make the TensorFlow.js WebAssembly backend fit for training, so that standard
 * Conv2D, Embedding, LSTM and Dense layers train on it. Models keep standard layers and load
 * anywhere; these only change how the wasm backend computes.
 *
 * - Conv2DBackpropFilter (missing in tfjs 4.22 wasm): an im2col copy in JavaScript, written
 *   transposed, then the backend's own BatchMatMul (XNNPACK) computes colsᵀ · dy.
 * - UnsortedSegmentSum (missing; the gradient of an embedding lookup): a scatter-add.
 * - BatchMatMul with a transposed operand (every gradient of a dense or recurrent layer) is
 *   10–40× slower than without on wasm: the wrapper transposes explicitly, then multiplies.
 */

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** The parts of tfjs' BackendWasm these kernels use. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array;
  disposeData(dataId: object): boolean;
}

let registered = false;

export function registerWasmKernels(tf: Tf): void {
  if (registered) return;
  registered = true;
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  if (!have.has('Conv2DBackpropFilter')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter(tf) as never });
  }
  if (!have.has('UnsortedSegmentSum')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as never });
  }
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (original) {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel({ ...original, kernelFunc: batchMatMulWithoutTransposes(tf, original.kernelFunc as unknown as KernelFunc) as never });
  }
}

type KernelFunc = (args: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> }) => TensorInfo;

function batchMatMulWithoutTransposes(tf: Tf, multiply: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs;
    if (!attrs.transposeA && !attrs.transposeB) return multiply({ inputs, backend, attrs });
    const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc as unknown as KernelFunc;
    const swapLast = (x: TensorInfo) => {
      const perm = x.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      return transpose({ inputs: { x }, backend, attrs: { perm } });
    };
    const at = attrs.transposeA ? swapLast(a) : a;
    const bt = attrs.transposeB ? swapLast(b) : b;
    try {
      return multiply({ inputs: { a: at, b: bt }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      if (at !== a) backend.disposeData(at.dataId);
      if (bt !== b) backend.disposeData(bt.dataId);
    }
  };
}

function conv2dBackpropFilter(tf: Tf) {
  return ({ inputs, backend, attrs }: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackend; attrs: Record<string, unknown> }): TensorInfo => {
    const { x, dy } = inputs;
    const filterShape = attrs.filterShape as [number, number, number, number];
    if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm: only NHWC is supported');
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      attrs.strides as [number, number],
      1,
      attrs.pad as 'same' | 'valid',
      attrs.dimRoundingMode as 'floor' | undefined,
      false,
      'channelsLast',
    );
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, outChannels, padInfo } = info;
    const k = filterHeight * filterWidth * inChannels;
    const m = batchSize * outHeight * outWidth;
    // Allocate first: growing the wasm heap detaches views taken before it.
    const cols = backend.makeOutput([1, k, m], 'float32');
    const xs = backend.typedArrayFromHeap(x);
    const c = backend.typedArrayFromHeap(cols);
    c.fill(0);
    let row = 0;
    for (let n = 0; n < batchSize; n++) {
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++, row++) {
          // cols is [k, m]: column `row` holds this output position's receptive field.
          let o = row;
          for (let kh = 0; kh < filterHeight; kh++) {
            const iy = oy * strideHeight + kh * dilationHeight - padInfo.top;
            for (let kw = 0; kw < filterWidth; kw++, o += inChannels * m) {
              const ix = ox * strideWidth + kw * dilationWidth - padInfo.left;
              if (iy < 0 || iy >= inHeight || ix < 0 || ix >= inWidth) continue;
              const base = ((n * inHeight + iy) * inWidth + ix) * inChannels;
              for (let ci = 0; ci < inChannels; ci++) c[o + ci * m] = xs[base + ci];
            }
          }
        }
      }
    }
    const batchMatMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc as unknown as (args: object) => TensorInfo;
    // dy [n, oh, ow, oc] is the same memory as [1, m, oc]: a reshape is only a new shape.
    const out = batchMatMul({
      inputs: { a: cols, b: { dataId: dy.dataId, shape: [1, m, outChannels], dtype: 'float32' } },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    backend.disposeData(cols.dataId);
    return { dataId: out.dataId, shape: [...filterShape], dtype: 'float32' };
  };
}

function unsortedSegmentSum({ inputs, backend, attrs }: { inputs: { x: TensorInfo; segmentIds: TensorInfo }; backend: WasmBackend; attrs: { numSegments: number } }): TensorInfo {
  const { x, segmentIds } = inputs;
  const shape = [attrs.numSegments, ...x.shape.slice(segmentIds.shape.length)];
  // Allocate first: growing the wasm heap detaches views taken before it.
  const out = backend.makeOutput(shape, x.dtype);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const values = backend.typedArrayFromHeap(x);
  const o = backend.typedArrayFromHeap(out);
  const rows = ids.length;
  const inner = rows === 0 ? 0 : values.length / rows;
  o.fill(0);
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    if (id < 0 || id >= attrs.numSegments) continue;
    const src = r * inner;
    const dst = id * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += values[src + j];
  }
  return out;
}
