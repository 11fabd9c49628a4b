/**
 * Choosing the captioner per stream: a ViT-GPT2 export (`onnx:DIR`, a tiny one the tests
 * write) captions one stream in its own worker thread while the embedded CNN→LSTM captions
 * another, and the captions reach a WebSocket subscriber.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo, videoFrames } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner, CaptionerClient } from '../../src/models/worker/captioner-client.js';
import { ImageSeq2Seq } from '../../src/models/seq2seq/image-seq2seq.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';
import { makeTinyVitGpt2 } from '../helpers/tiny-vit-gpt2.js';

let media: string;
let spec: string;
let server: RunningServer;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-media-'));
  await writeVideo(videoScript(41, { duration: 8, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
  spec = `onnx:${(await makeTinyVitGpt2()).dir}`;
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    captionerName: 'embedded',
    captioners: new Map([[spec, await acquireCaptioner(spec)]]),
    pipeline: { output: { width: 160, height: 120, fps: 10 } },
  });
});

after(async () => {
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await releaseCaptioner(spec);
  await rm(media, { recursive: true, force: true });
});

test('an ONNX captioner runs in its own worker and captions as the model does in process', async () => {
  const client = await CaptionerClient.start(spec);
  const model = await ImageSeq2Seq.open(spec.slice('onnx:'.length));
  try {
    assert.notEqual(client.threadId, 0);
    assert.equal(client.info.backend, 'onnxruntime (cpu)');
    assert.deepEqual([client.info.inputWidth, client.info.inputHeight], [32, 32]);
    const frame = videoFrames(videoScript(5, { duration: 1, width: 160, height: 120 })).next().value!;
    const [viaWorker] = await client.captionAll([frame]);
    assert.equal(viaWorker!.text, (await model.caption(frame)).text);
    assert.ok(Number.isFinite(viaWorker!.score) && viaWorker!.score <= 0);
  } finally {
    await client.close();
    await model.release();
  }
});

test('each stream is captioned by the captioner it asked for, and an unknown one is refused', async () => {
  const socket = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  const messages: any[] = [];
  socket.on('message', (d) => messages.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const post = (body: object) => fetch(`${server.url}/api/streams`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  const bad = await post({ id: 'x', url: 'clip.mp4', captioner: 'onnx:/etc' });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /captioner must be one that the server loaded \('embedded', 'onnx:.*'\); got "onnx:\/etc"/);

  const vit = await post({ id: 'vit', url: 'clip.mp4', captioner: spec });
  assert.equal(vit.status, 201);
  assert.equal((await vit.json()).captioner, spec);
  const plain = await post({ id: 'plain', url: 'clip.mp4' });
  assert.equal((await plain.json()).captioner, 'embedded');

  socket.send(JSON.stringify({ type: 'subscribe', streams: ['vit', 'plain'], since: { vit: 0, plain: 0 } }));
  const first = (id: string) => waitFor(`a caption of ${id}`, () => messages.find((m) => m.type === 'caption' && m.stream === id), 30_000);
  const [fromVit, fromPlain] = await Promise.all([first('vit'), first('plain')]);
  assert.equal(typeof fromVit.text, 'string');
  // The embedded captioner speaks the synthetic world's grammar; the random tiny ViT-GPT2 does not.
  assert.match(fromPlain.text, /circle|square|triangle|star|cross|shapes/);
  assert.notEqual(fromVit.text, fromPlain.text);
  socket.close();
});
