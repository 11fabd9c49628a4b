import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../../src/models/tfjs/runtime.js';

// The wasm backend's added and replaced kernels must agree with the reference CPU backend.
test('wasm training kernels match the CPU backend', async () => {
  const { tf } = await loadTf('wasm');
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const x = tf.tensor4d(
      Array.from({ length: 2 * 9 * 7 * 3 }, (_, i) => Math.sin(i)),
      [2, 9, 7, 3],
    );
    const f = tf.tensor4d(
      Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)),
      [3, 3, 3, 4],
    );
    const out: Float32Array[] = [];
    for (const [stride, pad] of [
      [1, 'same'],
      [2, 'same'],
      [2, 'valid'],
      [1, 'valid'],
    ] as const) {
      out.push(
        (await tf
          .grad((w) =>
            tf
              .conv2d(x, w as never, stride, pad)
              .square()
              .sum(),
          )(f)
          .data()) as Float32Array,
      );
    }
    const table = tf.tensor2d(
      Array.from({ length: 20 }, (_, i) => i / 10),
      [5, 4],
    );
    const ids = tf.tensor2d(
      [
        [1, 2],
        [3, 1],
      ],
      undefined,
      'int32',
    );
    out.push(
      (await tf
        .grad((t) => tf.gather(t, ids).square().sum())(table)
        .data()) as Float32Array,
    );
    const a = tf.tensor3d(
      Array.from({ length: 24 }, (_, i) => Math.sin(i)),
      [2, 3, 4],
    );
    const b = tf.tensor3d(
      Array.from({ length: 40 }, (_, i) => Math.cos(i)),
      [2, 5, 4],
    );
    out.push((await tf.matMul(a, b, false, true).data()) as Float32Array);
    out.push((await tf.matMul(a, a, true, false).data()) as Float32Array);
    const d = tf.tensor3d(
      Array.from({ length: 30 }, (_, i) => Math.sin(i * 0.7)),
      [2, 5, 3],
    );
    out.push((await tf.matMul(a, d, true, true).data()) as Float32Array);
    return out;
  };
  const wasm = await run('wasm');
  const cpu = await run('cpu');
  await tf.setBackend('wasm');
  wasm.forEach((values, k) => {
    assert.equal(values.length, cpu[k].length);
    values.forEach((v, i) => assert.ok(Math.abs(v - cpu[k][i]) < 1e-3, `case ${k} index ${i}: wasm ${v} cpu ${cpu[k][i]}`));
  });
});
