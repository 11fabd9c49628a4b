/**
 * float16 conversion (float16.ts) against values worked out by hand from IEEE 754, and an
 * ONNX model whose inputs and outputs are float16 (as some fp16 exports keep their key/value
 * cache and logits): livecap feeds and reads it in float32, converted at the runtime boundary.
 */
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromFloat16, toFloat16 } from '../../src/models/onnx/float16.js';
import { encodeModel, Graph } from '../../src/models/onnx/onnx-graph.js';
import { openSession } from '../../src/models/onnx/runtime.js';

test('float32 to float16 bits rounds to nearest even, keeps subnormals, saturates to Inf', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff], // the largest float16
    [65520, 0x7c00], // halfway to the next power: rounds up to Inf
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // the smallest normal
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -25, 0x0000], // halfway to it: ties to even (0)
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 subnormal steps: ties to even (2)
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next float16: ties to even (1)
    [1 + 3 * 2 ** -11, 0x3c02],
  ];
  assert.deepEqual(
    Array.from(toFloat16(cases.map(([v]) => v)), (h) => `0x${h.toString(16)}`),
    cases.map(([, h]) => `0x${h.toString(16)}`),
  );
  assert.equal(toFloat16([NaN])[0]! & 0x7c00, 0x7c00);
  assert.ok(Number.isNaN(fromFloat16([0x7e00])[0]));
  assert.deepEqual(Array.from(fromFloat16([0x3c00, 0x2e66, 0x7bff, 0x0001, 0xfc00, 0x8000])), [1, 0.0999755859375, 65504, 2 ** -24, -Infinity, -0]);
});

test('a model with float16 inputs and outputs is fed and read in float32', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-fp16-io-'));
  try {
    const g = new Graph('half_io');
    const x = g.input('x', 'float16', [3]);
    const doubled = g.op('Mul', [g.op('Cast', [x], { to: 1 }), g.scalar('two', 2)]);
    g.output(g.op('Cast', [doubled], { to: 10 }), 'y', 'float16', [3]);
    await writeFile(join(dir, 'half.onnx'), encodeModel(g));
    const session = await openSession(join(dir, 'half.onnx'), 'cpu');
    try {
      const out = await session.run({ x: { type: 'float32', data: new Float32Array([1, 0.1, 40000]), dims: [3] } });
      assert.equal(out.y!.type, 'float32');
      // 0.1 is rounded to float16 on the way in; 80000 is past float16's range.
      assert.deepEqual(Array.from(out.y!.data as Float32Array), [2, 0.199951171875, Infinity]);
    } finally {
      await session.release();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
