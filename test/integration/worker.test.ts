import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { rm } from 'node:fs/promises';
import { loadTf } from '../../src/models/tfjs/runtime.js';
import { CaptionerClient, acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { writeTinyCaptioner } from '../helpers/tiny-captioner.js';

const image = { width: 2, height: 2, data: new Uint8Array(12).fill(100) };

test('the captioner runs in its own thread and the event loop stays free while it works', async () => {
  const { tf } = await loadTf('wasm');
  const dir = await writeTinyCaptioner(tf);
  const client = await CaptionerClient.start(dir, 'wasm');
  try {
    assert.notEqual(client.threadId, threadId);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const results = await Promise.all(Array.from({ length: 40 }, () => client.caption(image, { beamWidth: 2 })));
    clearInterval(timer);
    assert.ok(results.every((r) => r.text === 'b'));
    assert.ok(ticks > 0, 'timers ran while captions were computed');
    // The caller's frame is copied, not taken, even when it is a view into a larger Buffer.
    const pool = Buffer.alloc(64, 100);
    const view = { width: 2, height: 2, data: pool.subarray(8, 20) };
    assert.equal((await client.caption(view, { beamWidth: 2 })).text, 'b');
    assert.equal(pool.length, 64);
    assert.equal(view.data[0], 100);
  } finally {
    await client.close();
    await rm(dir, { recursive: true });
  }
});

test('a bad model directory fails start with the loader error and leaves no worker behind', async () => {
  await assert.rejects(CaptionerClient.start('/nonexistent/model', 'wasm'), /\/nonexistent\/model\/captioner\.json: captioner manifest .* missing/);
});

test('calls after close are rejected clearly', async () => {
  const { tf } = await loadTf('wasm');
  const dir = await writeTinyCaptioner(tf);
  const client = await CaptionerClient.start(dir, 'wasm');
  await client.close();
  await assert.rejects(client.caption(image), /worker was closed/);
  await rm(dir, { recursive: true });
});

test('acquire shares one worker per model directory until the last release', async () => {
  const { tf } = await loadTf('wasm');
  const dir = await writeTinyCaptioner(tf);
  const a = await acquireCaptioner(dir);
  const b = await acquireCaptioner(dir);
  assert.equal(a, b);
  await releaseCaptioner(dir);
  assert.equal((await a.caption(image, { beamWidth: 2 })).text, 'b');
  await releaseCaptioner(dir);
  await assert.rejects(a.caption(image), /worker was closed/);
  await rm(dir, { recursive: true });
});
