/**
 * Model calls have deadlines: a worker that does not answer in time (stuck in a busy loop or
 * awaiting forever) is replaced by a fresh one that loads its model again, the call rejects
 * with a ModelTimeoutError naming the model and the deadline, and the calls that were waiting
 * carry on. Errors thrown in the worker keep their class name, message and code.
 * The worker is a real thread running a tiny script (test/helpers/stuck-worker.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRpc, ModelTimeoutError, modelWorkerStats } from '../../src/util/worker-rpc.js';
import type { StuckWorkerApi } from '../helpers/stuck-worker.js';

const script = new URL('../helpers/stuck-worker.js', import.meta.url);
const counters = () => new SharedArrayBuffer(8);

function rpc(name: string, data: Record<string, unknown> = {}, timeoutMs = 1000) {
  const shared = counters();
  const client = new WorkerRpc<StuckWorkerApi>(script, name, { counters: shared, ...data }, { timeoutMs, setup: { method: 'load', timeoutMs: 20_000 } });
  return { client, loads: () => new Int32Array(shared)[0] };
}

for (const method of ['spin', 'hang'] as const) {
  test(`a call that never answers (${method}) rejects after its deadline, and the next calls get a fresh worker`, { timeout: 60_000 }, async () => {
    const name = `test model ${method}`;
    const { client, loads } = rpc(name);
    try {
      const first = await client.call('load', [], [], { timeoutMs: 20_000 });
      assert.equal(first.threadId, client.threadId);
      const stuck = client.call(method, []);
      // Made while the stuck call holds the worker: they wait, then run on the replacement.
      const waiting = [client.call('echo', [1]), client.call('echo', [2])];
      await assert.rejects(stuck, (err: unknown) => {
        assert.ok(err instanceof ModelTimeoutError);
        assert.equal(err.name, 'ModelTimeoutError');
        assert.equal(err.model, name);
        assert.equal(err.timeoutMs, 1000);
        assert.match(err.message, new RegExp(`^${name} did not answer '${method}' within 1 s; its worker was restarted$`));
        return true;
      });
      const answers = await Promise.all(waiting);
      assert.deepEqual(
        answers.map((a) => a.value),
        [1, 2],
      );
      assert.notEqual(answers[0]!.threadId, first.threadId, 'answered by another thread');
      assert.equal(client.threadId, answers[0]!.threadId);
      assert.equal(loads(), 2, 'the replacement loaded the model before answering');
      assert.deepEqual(modelWorkerStats().get(name), { timeouts: 1, restarts: 1 });
      // And it keeps answering.
      assert.equal((await client.call('echo', [3])).value, 3);
    } finally {
      await client.close('dispose');
    }
  });
}

test('an error thrown in the worker keeps its class name, message and code', async () => {
  const { client } = rpc('test model errors');
  try {
    await assert.rejects(client.call('bad', []), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'BadFrameError');
      assert.equal(err.message, 'frame is 0×0');
      assert.equal(err.code, 'E_BAD_FRAME');
      return true;
    });
    // A caller without the worker's types (the types stop this at compile time) gets a clear error.
    await assert.rejects((client as unknown as WorkerRpc).call('nope', []), { name: 'Error', message: "unknown method 'nope'" });
    // A bad input is not a stuck model: nothing was restarted.
    assert.equal(modelWorkerStats().get('test model errors')?.restarts, 0);
  } finally {
    await client.close();
  }
});

test('a replacement worker that cannot load its model fails every call with the cause', { timeout: 60_000 }, async () => {
  const { client } = rpc('test model reload fails', { failLoadAfter: 1 });
  try {
    await client.call('load', [], [], { timeoutMs: 20_000 });
    const stuck = client.call('spin', []);
    const waiting = client.call('echo', [1]);
    await assert.rejects(stuck, ModelTimeoutError);
    await assert.rejects(waiting, { name: 'ModelWorkerError', message: 'test model reload fails: the worker started after a missed deadline could not load its model: model file is gone' });
    await assert.rejects(client.call('echo', [2]), /could not load its model: model file is gone/);
  } finally {
    await client.close();
  }
});

test('close gives up on a stuck final call and stops the worker without loading another', { timeout: 60_000 }, async () => {
  const { client, loads } = rpc('test model close', {}, 500);
  await client.call('load', [], [], { timeoutMs: 20_000 });
  const stuck = assert.rejects(client.call('hang', [], [], { timeoutMs: 60_000 }), /^Error: test model close worker was closed$/);
  await client.close('dispose', 500);
  await stuck;
  assert.equal(loads(), 1);
  await assert.rejects(client.call('echo', [1]), /worker was closed/);
  await client.close('dispose');
});
