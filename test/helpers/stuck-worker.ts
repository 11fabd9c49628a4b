/**
 * A model worker for tests of deadlines: it answers through the real `serveRpc`, and some of
 * its calls really block its thread (a busy loop) or never settle. `workerData.counters` is a
 * SharedArrayBuffer of Int32s, shared by every worker started with it (a replacement too):
 * [0] loads so far, [1] captions so far. `failLoadAfter` makes loads after the first N throw.
 * `stuckCaptions` makes the first N captions spin forever.
 */
import { threadId, workerData } from 'node:worker_threads';
import { serveRpc } from '../../src/models/worker/rpc.js';

const { counters, failLoadAfter, stuckCaptions } = workerData as { counters: SharedArrayBuffer; failLoadAfter?: number; stuckCaptions?: number };
const count = new Int32Array(counters);

class BadFrameError extends Error {
  override name = 'BadFrameError';
  readonly code = 'E_BAD_FRAME';
}

serveRpc({
  load() {
    const loads = Atomics.add(count, 0, 1) + 1;
    if (failLoadAfter !== undefined && loads > failLoadAfter) throw new Error('model file is gone');
    return { threadId, loads };
  },
  echo(value: unknown) {
    return { value, threadId };
  },
  spin() {
    for (;;);
  },
  hang() {
    return new Promise(() => {});
  },
  bad() {
    throw new BadFrameError('frame is 0×0');
  },
  caption(frame: { width: number; height: number }) {
    const n = Atomics.add(count, 1, 1) + 1;
    if (n <= (stuckCaptions ?? 0)) for (;;);
    return { text: `a frame of ${frame.width}x${frame.height}`, score: 0 };
  },
  dispose() {
    return undefined;
  },
});
