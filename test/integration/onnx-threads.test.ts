/**
 * LIVECAP_ONNX_THREADS sets how many threads a model's session computes on (several worker
 * processes on one machine each take their share): onnxruntime starts that many, one of them
 * the caller's, as the process's thread list shows. A wrong value is an error naming it.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeModel, Graph } from '../../src/models/onnx/onnx-graph.js';
import { openSession } from '../../src/models/onnx/runtime.js';

const threadCount = () => readdirSync('/proc/self/task').length;

test('LIVECAP_ONNX_THREADS: a session starts that many threads; a wrong value is refused, named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-onnx-threads-'));
  const saved = process.env.LIVECAP_ONNX_THREADS;
  try {
    const g = new Graph('double');
    const x = g.input('x', 'float32', [4]);
    g.output(g.op('Add', [x, x]), 'y', 'float32', [4]);
    const path = join(dir, 'double.onnx');
    await writeFile(path, encodeModel(g));
    // The first session loads the library (its own threads), so it is opened before counting.
    await (await openSession(path, 'cpu')).release?.();
    const added: Record<string, number> = {};
    for (const threads of ['1', '5']) {
      process.env.LIVECAP_ONNX_THREADS = threads;
      const before = threadCount();
      const session = await openSession(path, 'cpu');
      added[threads] = threadCount() - before;
      const out = await session.run({ x: { type: 'float32', data: new Float32Array([1, 2, 3, 4]), dims: [4] } }, ['y']);
      assert.deepEqual([...(out.y!.data as Float32Array)], [2, 4, 6, 8]);
      await session.release?.();
    }
    console.log(`# threads started by a session: ${JSON.stringify(added)}`);
    assert.equal(added['5']! - added['1']!, 4, 'four more threads for five than for one');
    for (const wrong of ['0', 'two', '1.5', '1000']) {
      process.env.LIVECAP_ONNX_THREADS = wrong;
      await assert.rejects(openSession(path, 'cpu'), new RegExp(`LIVECAP_ONNX_THREADS must be a whole number of threads from 1 to 256, got '${wrong.replace('.', '\\.')}'`));
    }
  } finally {
    if (saved === undefined) delete process.env.LIVECAP_ONNX_THREADS;
    else process.env.LIVECAP_ONNX_THREADS = saved;
    await rm(dir, { recursive: true, force: true });
  }
});
