/**
 * A model worker for tests of deadlines: it answers through the real `serveRpc`, and some of
 * its calls really block its thread (a busy loop) or never settle. `workerData.counters` is a
 * SharedArrayBuffer of Int32s, shared by every worker started with it (a replacement too):
 * [0] loads so far, [1] captions so far. `failLoadAfter` makes loads after the first N throw.
 * `stuckCaptions` makes the first N captions spin forever (and `stuckSummaries` the first N
 * summaries); `numbered` makes every caption say which one it is.
 */
import { threadId, workerData } from 'node:worker_threads';
import { serveRpc } from '../../src/util/worker-rpc.js';

const { counters, failLoadAfter, stuckCaptions, stuckSummaries, numbered } = workerData as {
  counters: SharedArrayBuffer;
  failLoadAfter?: number;
  stuckCaptions?: number;
  stuckSummaries?: number;
  numbered?: boolean;
};
const count = new Int32Array(counters);

class BadFrameError extends Error {
  override name = 'BadFrameError';
  readonly code = 'E_BAD_FRAME';
}

const handlers = {
  load() {
    const loads = Atomics.add(count, 0, 1) + 1;
    if (failLoadAfter !== undefined && loads > failLoadAfter) throw new Error('model file is gone');
    return { threadId, loads };
  },
  echo(value: unknown) {
    return { value, threadId };
  },
  spin(): never {
    for (;;);
  },
  hang(): Promise<never> {
    return new Promise(() => {});
  },
  bad(): never {
    throw new BadFrameError('frame is 0×0');
  },
  caption(frame: { width: number; height: number }) {
    const n = Atomics.add(count, 1, 1) + 1;
    if (n <= (stuckCaptions ?? 0)) for (;;);
    return { text: `a frame of ${frame.width}x${frame.height}${numbered ? `, number ${n}` : ''}`, score: 0 };
  },
  summarize(captions: string[]) {
    const n = Atomics.add(count, 1, 1) + 1;
    if (n <= (stuckSummaries ?? 0)) for (;;);
    return { text: `${captions.length} captions` };
  },
  dispose() {
    return undefined;
  },
};

export type StuckWorkerApi = typeof handlers;

serveRpc(handlers);
