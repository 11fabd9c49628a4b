/**
 * weight-variants.ts against arithmetic written out here: for one MatMul, what onnxruntime
 * computes from each variant's file equals x · Ŵ, with Ŵ the weight rounded as the variant
 * says (float16; per-column 8-bit with the activations quantized as DynamicQuantizeLinear
 * does; 4-bit blocks of 16 along K; NF4 blocks of 64 over the transposed weight). So the
 * packed layouts, zero points and scales are read by the runtime as they were meant, and the
 * rewrite leaves shared weights and subgraph names alone.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fromFloat16, toFloat16 } from '../../src/models/onnx/float16.js';
import { encodeModel, Graph } from '../../src/models/onnx/onnx-graph.js';
import { openSession } from '../../src/models/onnx/runtime.js';
import { writeWeightVariant, type WeightVariant } from '../../src/models/onnx/weight-variants.js';
import { Rng } from '../../src/util/rng.js';

const [ROWS, K, N] = [6, 40, 12];
let dir: string;
let w: Float32Array;
let x: Float32Array;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-weight-variants-'));
  const rng = new Rng(5);
  w = Float32Array.from({ length: K * N }, () => rng.normal() * 0.4);
  x = Float32Array.from({ length: ROWS * K }, () => rng.normal());
});
after(() => rm(dir, { recursive: true, force: true }));

function matMulGraph(): Graph {
  const g = new Graph('one_matmul');
  const a = g.input('a', 'float32', [ROWS, K]);
  g.output(g.op('MatMul', [a, g.constant('w', w, [K, N])]), 'y', 'float32', [ROWS, N]);
  return g;
}

async function run(g: Graph, name: string): Promise<Float32Array> {
  const path = join(dir, `${name}.onnx`);
  await writeFile(path, encodeModel(g));
  const session = await openSession(path, 'cpu');
  try {
    const out = await session.run({ a: { type: 'float32', data: x, dims: [ROWS, K] } });
    return out.y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Round half to even, as onnxruntime's quantizers do. */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function product(a: ArrayLike<number>, wHat: ArrayLike<number>): Float64Array {
  const y = new Float64Array(ROWS * N);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < N; c++) for (let k = 0; k < K; k++) y[r * N + c] += a[r * K + k]! * wHat[k * N + c]!;
  return y;
}

/** Ŵ for each variant, by its rule. */
function rounded(variant: WeightVariant): Float64Array {
  const out = new Float64Array(K * N);
  const col = (c: number) => Array.from({ length: K }, (_, k) => w[k * N + c]!);
  if (variant === 'fp16') return Float64Array.from(fromFloat16(toFloat16(w)));
  for (let c = 0; c < N; c++) {
    const v = col(c);
    if (variant === 'q8' || variant === 'uint8' || variant === 'int8') {
      const [lo, hi] = [Math.min(0, ...v), Math.max(0, ...v)];
      const scale = Math.fround(variant === 'int8' ? Math.max(-lo, hi) / 127 : (hi - lo) / 255);
      const zero = variant === 'int8' ? 0 : Math.round(-lo / scale);
      v.forEach((x, k) => (out[k * N + c] = (Math.round(x / scale) + zero - zero) * scale));
    } else if (variant === 'q4' || variant === 'q4f16') {
      for (let b = 0; b < K; b += 16) {
        const block = v.slice(b, b + 16);
        const scale = Math.fround(Math.max(...block.map(Math.abs)) / 7);
        // q4f16 stores the scale as float16; the 4-bit values were found with the exact one.
        const stored = variant === 'q4f16' ? fromFloat16(toFloat16([scale]))[0]! : scale;
        block.forEach((x, j) => (out[(b + j) * N + c] = Math.max(-8, Math.min(7, Math.round(x / scale))) * stored));
      }
    }
  }
  if (variant === 'bnb4') {
    const nf4 = [
      -1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0, 0.07958029955625534, 0.16093020141124725,
      0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1,
    ];
    // Blocks of 64 over W transposed to [N, K] and flattened.
    const flat = Array.from({ length: N * K }, (_, i) => w[(i % K) * N + Math.floor(i / K)]!);
    for (let b = 0; b < flat.length; b += 64) {
      const block = flat.slice(b, b + 64);
      const absmax = Math.fround(Math.max(...block.map(Math.abs)));
      block.forEach((v, j) => {
        const i = b + j;
        const nearest = nf4.reduce((best, q) => (Math.abs(q - v / absmax) < Math.abs(best - v / absmax) ? q : best));
        out[(i % K) * N + Math.floor(i / K)] = Math.fround(nearest) * absmax;
      });
    }
  }
  return out;
}

/** DynamicQuantizeLinear: the activations to uint8 over their range (with 0 in it). */
function quantizedActivations(): Float64Array {
  const [lo, hi] = [Math.min(0, ...x), Math.max(0, ...x)];
  const scale = Math.fround((hi - lo) / 255);
  const zero = Math.max(0, Math.min(255, roundEven(-lo / scale)));
  return Float64Array.from(x, (v) => (Math.max(0, Math.min(255, roundEven(v / scale) + zero)) - zero) * scale);
}

for (const variant of ['fp16', 'q8', 'uint8', 'int8', 'q4', 'q4f16', 'bnb4'] as const) {
  test(`${variant}: onnxruntime computes x · Ŵ with the weight rounded as the variant says`, async () => {
    const g = matMulGraph();
    writeWeightVariant(g, variant);
    const got = await run(g, variant);
    const activations = variant === 'q8' || variant === 'uint8' || variant === 'int8' ? quantizedActivations() : x;
    const want = product(activations, rounded(variant));
    const exact = product(x, w);
    let worst = 0;
    let moved = 0;
    for (let i = 0; i < want.length; i++) {
      // q4f16 multiplies in float16, so it is held to float16's precision.
      const tolerance = variant === 'q4f16' ? 2e-3 * (1 + Math.abs(want[i]!)) : 1e-4 * (1 + Math.abs(want[i]!));
      worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / tolerance);
      moved = Math.max(moved, Math.abs(got[i]! - exact[i]!));
    }
    assert.ok(worst <= 1, `${variant}: onnxruntime and the written-out rounding differ by ${worst}× the tolerance`);
    assert.ok(moved > 0, `${variant}: the output is exactly fp32's: nothing was rounded`);
  });
}

test('a weight that another op also reads stays float32; a subgraph gets names of its own', async () => {
  const g = new Graph('shared');
  const a = g.input('a', 'float32', [ROWS, K]);
  const weight = g.constant('w', w, [K, N]);
  const y = g.op('Add', [g.op('MatMul', [a, weight]), g.op('ReduceSum', [weight, g.int64s('axes', [0])], { keepdims: 1 })]);
  g.output(y, 'y', 'float32', [ROWS, N]);
  const plain = await run(g, 'shared-fp32');
  writeWeightVariant(g, 'q8');
  assert.deepEqual(Array.from(await run(g, 'shared-q8')), Array.from(plain), 'the tied weight was left as it was');
  assert.ok(!g.parts.nodes.some((n) => n.op === 'MatMulInteger'));

  // MatMuls inside If branches beside one outside, each graph built on its own (both branches
  // name their product alike): what the rewrite adds must not collide across the scopes, not
  // even with a value of the outer graph that a branch reads (here one named as the branch's
  // quantized input would be without its scope).
  const outer = new Graph('outer');
  const input = outer.input('a', 'float32', [ROWS, K]);
  const flag = outer.input('flag', 'bool', [1]);
  const read = outer.op('Identity', [input], {}, ['product_input_quantized']);
  const branch = (name: string) => {
    const sub = new Graph(name);
    sub.output(sub.op('MatMul', [read, sub.constant(`w_${name}`, w, [K, N])], {}, ['product']), `${name}_y`, 'float32', [ROWS, N]);
    return sub;
  };
  const [fromIf] = outer.opMulti('If', [flag], 1, { then_branch: branch('then'), else_branch: branch('else') });
  outer.output(outer.op('Add', [fromIf!, outer.op('MatMul', [input, outer.constant('w_outer', w, [K, N])], {}, ['outer_product'])]), 'y', 'float32', [ROWS, N]);
  writeWeightVariant(outer, 'q8');
  for (const g of [outer, ...outer.parts.nodes.flatMap((n) => Object.values(n.attrs).filter((a): a is Graph => a instanceof Graph))]) {
    assert.equal(g.parts.nodes.filter((n) => n.op === 'MatMulInteger').length, 1, `${g.name}: its MatMul is quantized`);
  }
  const path = join(dir, 'if-q8.onnx');
  await writeFile(path, encodeModel(outer));
  const session = await openSession(path, 'cpu');
  try {
    const out = await session.run({ a: { type: 'float32', data: x, dims: [ROWS, K] }, flag: { type: 'bool', data: Uint8Array.of(1), dims: [1] } });
    const want = product(quantizedActivations(), rounded('q8'));
    (out.y!.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - 2 * want[i]!) < 1e-4 * (1 + Math.abs(want[i]!)), `y[${i}] = ${v}, want ${2 * want[i]!}`));
  } finally {
    await session.release();
  }
});
