/**
 * A captioner that stops answering, seen from a viewer and from /metrics: the stream stays
 * live, its status carries a note naming the model and the deadline, captions carry on from
 * the replacement worker (the note is then cleared), and /metrics counts the timeout and the
 * restart. The captioner is a real worker thread whose first caption really spins forever
 * (test/helpers/stuck-worker.ts), behind the real WorkerRpc; the source is ffmpeg's testsrc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer } from '../../src/stream/server.js';
import { WorkerRpc } from '../../src/util/worker-rpc.js';
import { waitFor } from '../helpers/processes.js';
import { recordBroadcasts } from '../helpers/test-server.js';
import type { StuckWorkerApi } from '../helpers/stuck-worker.js';

test('a stuck captioner is replaced after its deadline, and the stream says so in its status and /metrics', { timeout: 120_000 }, async () => {
  const name = 'captioner stuck-on-first-frame';
  const counters = new SharedArrayBuffer(8);
  const rpc = new WorkerRpc<StuckWorkerApi>(new URL('../helpers/stuck-worker.js', import.meta.url), name, { counters, stuckCaptions: 1 }, { timeoutMs: 1000, setup: { method: 'load' } });
  await rpc.call('load', []);
  const captioner = { caption: (f: { width: number; height: number }) => rpc.call('caption', [{ width: f.width, height: f.height }]) };
  const server = await startServer({ host: '127.0.0.1', port: 0, captioner, pipeline: { output: { width: 160, height: 120, fps: 5 }, gate: { maxGapSec: 1 }, thumbnails: false } });
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  try {
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    server.manager!.add('cam', 'testsrc://testsrc');
    ws.send(JSON.stringify({ type: 'subscribe', streams: ['cam'] }));
    const note = await waitFor('a status with the missed deadline', () => messages.find((m) => m.type === 'status' && m.error), 60_000);
    assert.deepEqual(note, { type: 'status', stream: 'cam', state: 'live', error: `${name} did not answer 'caption' within 1 s; its worker was restarted` });
    assert.equal(server.streams.get('cam')?.state, 'live');
    const caption = await waitFor('a caption from the replacement worker', () => messages.find((m) => m.type === 'caption'), 60_000);
    assert.equal(caption.text, 'a frame of 160x120');
    const at = messages.indexOf(note);
    assert.ok(
      messages.slice(at + 1).some((m) => m.type === 'status' && m.state === 'live' && m.error === undefined),
      'the note is cleared once the captioner answers',
    );
    assert.equal(new Int32Array(counters)[0], 2, 'the model was loaded again in the new worker');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`^livecap_model_timeouts_total\\{model="${name}"\\} 1$`, 'm'));
    assert.match(metrics, new RegExp(`^livecap_model_worker_restarts_total\\{model="${name}"\\} 1$`, 'm'));
  } finally {
    ws.close();
    await server.close();
    await rpc.close();
  }
});

test('a stuck summarizer is replaced after its deadline; the stream stays live with a note until the next summary', { timeout: 120_000 }, async () => {
  const script = new URL('../helpers/stuck-worker.js', import.meta.url);
  const name = 'summarizer stuck-on-first-window';
  const captionRpc = new WorkerRpc<StuckWorkerApi>(script, 'captioner numbered', { counters: new SharedArrayBuffer(8), numbered: true });
  const summaryRpc = new WorkerRpc<StuckWorkerApi>(script, name, { counters: new SharedArrayBuffer(8), stuckSummaries: 1 }, { timeoutMs: 1000, setup: { method: 'load' } });
  const captioner = { caption: (f: { width: number; height: number }) => captionRpc.call('caption', [{ width: f.width, height: f.height }]) };
  const summarizer = { summarize: (captions: readonly string[]) => summaryRpc.call('summarize', [[...captions]]) };
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner,
    pipeline: { output: { width: 160, height: 120, fps: 5 }, gate: { maxGapSec: 1 }, thumbnails: false, summary: { summarizer, windowMs: 3000, hopMs: 1000 } },
  });
  const events: any[] = recordBroadcasts(server);
  try {
    server.manager!.add('cam', 'testsrc://smptebars');
    const note = await waitFor('a status with the missed deadline', () => events.find((m) => m.type === 'status' && m.error), 60_000);
    assert.deepEqual(note, { type: 'status', stream: 'cam', state: 'live', error: `${name} did not answer 'summarize' within 1 s; its worker was restarted` });
    const summary = await waitFor('a summary from the replacement worker', () => events.find((m) => m.type === 'summary'), 60_000);
    assert.match(summary.text, /^\d+ captions$/);
    await waitFor('the note cleared', () => events.slice(events.indexOf(note) + 1).find((m) => m.type === 'status' && m.state === 'live' && m.error === undefined), 10_000);
    assert.ok(events.filter((m) => m.type === 'caption').length >= 2, 'captions went on meanwhile');
  } finally {
    await server.close();
    await captionRpc.close();
    await summaryRpc.close();
  }
});

test('a captioner whose replacement cannot load its model leaves the stream live with a note saying so', { timeout: 120_000 }, async () => {
  const name = 'captioner gone-after-restart';
  const rpc = new WorkerRpc<StuckWorkerApi>(
    new URL('../helpers/stuck-worker.js', import.meta.url),
    name,
    { counters: new SharedArrayBuffer(8), stuckCaptions: 1, failLoadAfter: 1 },
    { timeoutMs: 1000, setup: { method: 'load' } },
  );
  await rpc.call('load', []);
  const captioner = { caption: (f: { width: number; height: number }) => rpc.call('caption', [{ width: f.width, height: f.height }]) };
  const server = await startServer({ host: '127.0.0.1', port: 0, captioner, pipeline: { output: { width: 160, height: 120, fps: 5 }, gate: { maxGapSec: 1 }, thumbnails: false } });
  const events: any[] = recordBroadcasts(server);
  try {
    server.manager!.add('cam', 'testsrc://smptebars');
    const gone = await waitFor('a status saying the model is gone', () => events.find((m) => m.type === 'status' && /could not load/.test(m.error ?? '')), 60_000);
    assert.deepEqual(gone, { type: 'status', stream: 'cam', state: 'live', error: `${name}: the worker started after a missed deadline could not load its model: model file is gone` });
    assert.equal(server.streams.get('cam')?.error, gone.error, 'stream info says so too');
  } finally {
    await server.close();
    await rpc.close();
  }
});
