/**
 * Video captions end to end: a file stream's frame captions go through the rolling window to a
 * BART summarizer (a tiny export the tests write, run in its worker thread on onnxruntime), and
 * the summary reaches a WebSocket subscriber in the stream's sequence.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { SummarizerClient } from '../../src/models/worker/summarizer-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';
import { makeTinyBart } from '../helpers/tiny-bart.js';

let media: string;
let modelDir: string;
let server: RunningServer;
let summarizer: SummarizerClient;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-media-'));
  await writeVideo(videoScript(32, { duration: 12, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
  modelDir = (await makeTinyBart()).dir;
  summarizer = await SummarizerClient.start(modelDir);
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner,
    pipeline: { output: { width: 160, height: 120, fps: 10 }, summary: { summarizer, windowMs: 4000, hopMs: 1000 } },
  });
});

after(async () => {
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await summarizer.close();
  await summarizer.close();
  await rm(media, { recursive: true, force: true });
  await rm(modelDir, { recursive: true, force: true });
});

test('the summarizer runs in its own worker thread and says which provider it uses', () => {
  assert.notEqual(summarizer.threadId, 0);
  assert.equal(summarizer.provider, 'cpu');
  assert.equal(summarizer.generation.numBeams, 3);
});

test('summaries of the rolling window reach a WebSocket subscriber, in the stream sequence', async () => {
  const socket = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  const messages: any[] = [];
  socket.on('message', (d) => messages.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const res = await fetch(`${server.url}/api/streams`, { method: 'POST', body: JSON.stringify({ id: 'clip', url: 'clip.mp4' }), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 201);
  await waitFor('hello', () => messages.find((m) => m.type === 'hello'), 5000);
  // From seq 0: whatever came before subscribing is replayed from history first.
  socket.send(JSON.stringify({ type: 'subscribe', streams: ['clip'], since: { clip: 0 } }));
  const summary = await waitFor('a summary', () => messages.find((m) => m.type === 'summary' && m.stream === 'clip'), 30_000);
  assert.ok(summary.text.length > 0);
  assert.ok(summary.from <= summary.to && summary.to <= summary.ts, 'the window lies before the summary');
  // One sequence over captions and summaries: a caption came first, and no seq repeats.
  const sequenced = messages.filter((m) => m.stream === 'clip' && typeof m.seq === 'number');
  assert.ok(sequenced.some((m) => m.type === 'caption' && m.seq < summary.seq));
  assert.deepEqual(
    sequenced.map((m) => m.seq),
    sequenced.map((_, i) => i + 1),
  );
  // The summary is in the stream's history too.
  const history = await (await fetch(`${server.url}/api/streams/clip/captions?since=0&limit=100`)).json();
  assert.ok(history.captions.some((m: any) => m.type === 'summary' && m.seq === summary.seq && m.text === summary.text));
  socket.close();
});
