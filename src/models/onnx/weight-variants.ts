/**
 * Rewrites a float32 graph built in code into the smaller variants that Hugging Face ONNX
 * repositories publish beside the float32 files, in the same forms the usual tools write:
 *
 *   fp16   every float32 weight stored as float16, followed by a Cast back to float32; the
 *          inputs, outputs and arithmetic stay float32 (half the file, the same interface)
 *   q8 / uint8   dynamic quantization of the MatMul weights, as onnxruntime's quantize_dynamic
 *          writes it: weights uint8 with a zero point and a scale per output column, the
 *          activations quantized at run time (DynamicQuantizeLinear → MatMulInteger → Cast →
 *          Mul by both scales)
 *   int8   the same with int8 weights, symmetric (zero point 0)
 *   q4     4-bit block quantization of the MatMul weights (com.microsoft MatMulNBits, blocks of
 *          16 along K, symmetric, one float32 scale per block), other weights float32
 *   q4f16  q4 with float16 arithmetic in the MatMulNBits (activations cast to float16 and back,
 *          float16 scales), and the other weights stored as float16 as in fp16
 *   bnb4   4-bit NF4 quantization as bitsandbytes does it (com.microsoft MatMulBnb4: the
 *          transposed weight in blocks of 64, each a float32 absmax and 4-bit indices into the
 *          NF4 table, high nibble first)
 *
 * Only MatMuls whose second input is a 2-D weight of the same graph, used nowhere else, are
 * quantized; a weight shared with another op (a tied embedding) stays as it is. Subgraphs (the
 * branches of a merged decoder's If) are rewritten with their own weights. The graph is changed
 * in place: build a fresh one per variant.
 *
 *   const g = decoderGraph(config, weights);
 *   writeWeightVariant(g, 'q8');
 *   await writeFile('onnx/decoder_model_merged_quantized.onnx', encodeModel(g));
 */
import { toFloat16 } from './float16.js';
import { Graph, type GraphNode, type Tensor } from './onnx-graph.js';

export type WeightVariant = 'fp16' | 'q8' | 'uint8' | 'int8' | 'q4' | 'q4f16' | 'bnb4';

const FLOAT16_MAX = 65504;

/** The block length along K of the q4 variant (MatMulNBits needs a power of two, at least 16). */
export const Q4_BLOCK = 16;

/** The bnb4 block length over the flattened [N, K] weight (bitsandbytes' default). */
export const BNB4_BLOCK = 64;

/** bitsandbytes' NF4 code book: the quantiles of a normal distribution, scaled to [-1, 1]. */
const NF4 = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];

type Quantization = 'uint8' | 'int8' | 'q4' | 'q4f16' | 'bnb4';

export interface VariantOptions {
  /**
   * fp16 and q4f16: make the graph's float inputs and outputs float16 too (Casts at the edges),
   * as exports whose key/value cache and logits are float16 have them.
   */
  halfIo?: boolean;
}

export function writeWeightVariant(graph: Graph, variant: WeightVariant, options: VariantOptions = {}): void {
  if (variant !== 'fp16') quantizeMatMuls(graph, variant === 'q8' ? 'uint8' : variant);
  if (variant === 'fp16' || variant === 'q4f16') {
    storeFloat16(graph);
    if (options.halfIo) halfInterface(graph);
  }
}

/** Every read of `from`, in the graph and its subgraphs, reads `to` instead. */
function renameReads(graph: Graph, from: string, to: string): void {
  for (const n of graph.parts.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    for (const a of Object.values(n.attrs)) if (a instanceof Graph) renameReads(a, from, to);
  }
}

/** float32 inputs and outputs become float16 ones, cast to and from float32 inside. */
function halfInterface(graph: Graph): void {
  const { nodes, inputs, outputs } = graph.parts;
  const entry: GraphNode[] = [];
  for (const input of inputs) {
    if (input.type !== 'float32') continue;
    const inside = graph.fresh(`${input.name}_float32`);
    renameReads(graph, input.name, inside);
    input.type = 'float16';
    entry.push(...detached(graph, () => graph.op('Cast', [input.name], { to: 1 }, [inside])));
  }
  nodes.unshift(...entry);
  for (const output of outputs) {
    if (output.type !== 'float32') continue;
    const inside = graph.fresh(`${output.name}_float32`);
    for (const n of nodes) n.outputs = n.outputs.map((o) => (o === output.name ? inside : o));
    renameReads(graph, output.name, inside);
    output.type = 'float16';
    graph.op('Cast', [inside], { to: 10 }, [output.name]);
  }
}

/** How often each value name is read, in this graph and every subgraph below it. */
function uses(graph: Graph, counts = new Map<string, number>()): Map<string, number> {
  for (const n of graph.parts.nodes) {
    for (const i of n.inputs) counts.set(i, (counts.get(i) ?? 0) + 1);
    for (const a of Object.values(n.attrs)) if (a instanceof Graph) uses(a, counts);
  }
  return counts;
}

function subgraphs(graph: Graph): Graph[] {
  return graph.parts.nodes.flatMap((n) => Object.values(n.attrs).filter((a): a is Graph => a instanceof Graph));
}

/**
 * The prefix of every name a rewrite adds to a graph: none at the top, the path of graph names
 * in a subgraph. Single assignment holds across scopes (a subgraph may not define a name that
 * the graph around it defines), and separately built graphs may well have used the same names.
 */
const inner = (scope: string, sub: Graph) => `${scope}${sub.name}/`;

function quantizeMatMuls(graph: Graph, kind: Quantization, scope = ''): void {
  const { nodes, initializers } = graph.parts;
  const counts = uses(graph);
  const byName = new Map(initializers.map((t) => [t.name, t]));
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.op !== 'MatMul' || node.domain) continue;
    const weight = byName.get(node.inputs[1]!);
    if (weight?.type !== 'float32' || weight.dims.length !== 2 || counts.get(weight.name) !== 1) continue;
    const replacement =
      kind === 'q4' || kind === 'q4f16'
        ? matMulNBits(graph, scope, node, weight, kind === 'q4f16')
        : kind === 'bnb4'
          ? matMulBnb4(graph, scope, node, weight)
          : matMulInteger(graph, scope, node, weight, kind);
    initializers.splice(initializers.indexOf(weight), 1);
    nodes.splice(i, 1, ...replacement);
    i += replacement.length - 1;
  }
  for (const sub of subgraphs(graph)) quantizeMatMuls(sub, kind, inner(scope, sub));
}

/** Takes the nodes that `build` adds to the end of the graph back out, to put them elsewhere. */
function detached(graph: Graph, build: () => void): GraphNode[] {
  const { nodes } = graph.parts;
  const before = nodes.length;
  build();
  return nodes.splice(before);
}

function matMulInteger(graph: Graph, scope: string, node: GraphNode, w: Tensor, type: 'uint8' | 'int8'): GraphNode[] {
  const [k, n] = w.dims as [number, number];
  const data = w.data as Float32Array;
  const q = type === 'uint8' ? new Uint8Array(k * n) : new Int8Array(k * n);
  const zeros = type === 'uint8' ? new Uint8Array(n) : new Int8Array(n);
  const scales = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    let lo = 0;
    let hi = 0;
    for (let r = 0; r < k; r++) {
      lo = Math.min(lo, data[r * n + c]!);
      hi = Math.max(hi, data[r * n + c]!);
    }
    // uint8: the column's range (with 0 in it) over 0…255; int8: ±max|w| over −127…127.
    const scale = type === 'uint8' ? (hi - lo) / 255 || 1 : Math.max(-lo, hi) / 127 || 1;
    const zero = type === 'uint8' ? Math.min(255, Math.max(0, Math.round(-lo / scale))) : 0;
    const [min, max] = type === 'uint8' ? [0, 255] : [-127, 127];
    scales[c] = scale;
    zeros[c] = zero;
    for (let r = 0; r < k; r++) q[r * n + c] = Math.min(max, Math.max(min, Math.round(data[r * n + c]! / scale) + zero));
  }
  const [a, y] = [node.inputs[0]!, node.outputs[0]!];
  const named = (what: string) => graph.fresh(`${scope}${y}_${what}`);
  return detached(graph, () => {
    const weight = graph.constant(`${scope}${w.name}_quantized`, q, [k, n], type);
    const zero = graph.constant(`${scope}${w.name}_zero_point`, zeros, [n], type);
    const scale = graph.constant(`${scope}${w.name}_scale`, scales, [n]);
    const [aq, aScale, aZero] = graph.opMulti('DynamicQuantizeLinear', [a], [named('input_quantized'), named('input_scale'), named('input_zero_point')]);
    const product = named('int32');
    graph.op('MatMulInteger', [aq!, weight, aZero!, zero], {}, [product]);
    const bothScales = named('scales');
    graph.op('Mul', [aScale!, scale], {}, [bothScales]);
    const float = named('float');
    graph.op('Cast', [product], { to: 1 }, [float]);
    graph.op('Mul', [float, bothScales], {}, [y]);
  });
}

function matMulNBits(graph: Graph, scope: string, node: GraphNode, w: Tensor, half: boolean, block = Q4_BLOCK): GraphNode[] {
  const [k, n] = w.dims as [number, number];
  const data = w.data as Float32Array;
  const blocks = Math.ceil(k / block);
  const blob = block / 2;
  // B is [N, blocks, block/2]: column n's weights along K, two 4-bit values a byte, low nibble first.
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < blocks; b++) {
      let absmax = 0;
      for (let r = b * block; r < Math.min(k, (b + 1) * block); r++) absmax = Math.max(absmax, Math.abs(data[r * n + c]!));
      const scale = absmax / 7 || 1;
      scales[c * blocks + b] = scale;
      for (let j = 0; j < block; j++) {
        const r = b * block + j;
        // Stored as q + 8, so that the default zero point (8) gives back q · scale; padding is 0.
        const q = r < k ? Math.min(7, Math.max(-8, Math.round(data[r * n + c]! / scale))) + 8 : 8;
        packed[(c * blocks + b) * blob + (j >> 1)]! |= j & 1 ? q << 4 : q;
      }
    }
  }
  const [a, y] = [node.inputs[0]!, node.outputs[0]!];
  return detached(graph, () => {
    const weight = graph.constant(`${scope}${w.name}_q4`, packed, [n, blocks, blob], 'uint8');
    const attrs = { K: k, N: n, bits: 4, block_size: block };
    const nbits = (input: string, scale: string, output: string) =>
      graph.parts.nodes.push({ op: 'MatMulNBits', domain: 'com.microsoft', inputs: [input, weight, scale], outputs: [output], attrs, name: graph.fresh(`${scope}${y}_MatMulNBits`) });
    if (!half) return void nbits(a, graph.constant(`${scope}${w.name}_scales`, scales, [n * blocks]), y);
    const [a16, y16] = [graph.fresh(`${scope}${y}_input_fp16`), graph.fresh(`${scope}${y}_fp16`)];
    graph.op('Cast', [a], { to: 10 }, [a16]);
    nbits(a16, graph.constant(`${scope}${w.name}_scales_fp16`, toFloat16(scales), [n * blocks], 'float16'), y16);
    graph.op('Cast', [y16], { to: 1 }, [y]);
  });
}

function matMulBnb4(graph: Graph, scope: string, node: GraphNode, w: Tensor, block = BNB4_BLOCK): GraphNode[] {
  const [k, n] = w.dims as [number, number];
  const data = w.data as Float32Array;
  const total = n * k;
  const absmax = new Float32Array(Math.ceil(total / block));
  // The weight transposed to [N, K] and flattened: element i is W[i % K][⌊i / K⌋].
  const at = (i: number) => data[(i % k) * n + Math.floor(i / k)]!;
  for (let i = 0; i < total; i++) absmax[Math.floor(i / block)] = Math.max(absmax[Math.floor(i / block)]!, Math.abs(at(i)));
  const packed = new Uint8Array(Math.ceil(total / 2));
  for (let i = 0; i < total; i++) {
    const v = at(i) / (absmax[Math.floor(i / block)]! || 1);
    let code = 0;
    for (let c = 1; c < NF4.length; c++) if (Math.abs(NF4[c]! - v) < Math.abs(NF4[code]! - v)) code = c;
    packed[i >> 1]! |= i & 1 ? code : code << 4;
  }
  const [a, y] = [node.inputs[0]!, node.outputs[0]!];
  return detached(graph, () => {
    const weight = graph.constant(`${scope}${w.name}_bnb4`, packed, [packed.length], 'uint8');
    const scale = graph.constant(`${scope}${w.name}_absmax`, absmax, [absmax.length]);
    graph.parts.nodes.push({
      op: 'MatMulBnb4',
      domain: 'com.microsoft',
      inputs: [a, weight, scale],
      outputs: [y],
      attrs: { K: k, N: n, block_size: block, quant_type: 1 },
      name: graph.fresh(`${scope}${y}_MatMulBnb4`),
    });
  });
}

/** Every float32 weight becomes a float16 one of a new name and a Cast that restores the old. */
function storeFloat16(graph: Graph, scope = ''): void {
  const { nodes, initializers } = graph.parts;
  const casts = detached(graph, () => {
    for (const [i, t] of initializers.entries()) {
      if (t.type !== 'float32') continue;
      // Clamped to float16's finite range, as onnxconverter-common does: a mask of -3.4e38 stays
      // a very large negative number instead of becoming -Inf (and NaN after a Softmax).
      const clamped = (t.data as Float32Array).map((v) => Math.min(FLOAT16_MAX, Math.max(-FLOAT16_MAX, v)));
      const half: Tensor = { name: graph.fresh(`${scope}${t.name}_fp16`), type: 'float16', dims: t.dims, data: toFloat16(clamped) };
      initializers[i] = half;
      graph.op('Cast', [half.name], { to: 1 }, [t.name]);
    }
  });
  // Casts first, so the nodes stay in topological order.
  nodes.unshift(...casts);
  for (const sub of subgraphs(graph)) storeFloat16(sub, inner(scope, sub));
}
