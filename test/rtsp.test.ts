import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../src/stream/server.js';
import { videoScript, writeVideo } from '../src/synth/video.js';
import type { StreamMessage } from '../src/stream/events.js';
import { RtspCamera } from './helpers/rtsp-camera.js';
import { ffmpegPidsWith, waitFor } from './helpers/processes.js';
import { startTestServer } from './helpers/test-server.js';

let dir: string;
let camera: RtspCamera;
let server: RunningServer;
let events: StreamMessage[];
let close: () => Promise<void>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-rtsp-'));
  const clip = join(dir, 'camera.mp4');
  await writeVideo(videoScript(77, { duration: 20, width: 320, height: 240, fps: 15 }), clip);
  camera = await RtspCamera.create(clip);
  ({ server, events, close } = await startTestServer({ supervisor: { stallTimeoutMs: 3000, connectTimeoutMs: 8000, readTimeoutMs: 3000 } }));
});

after(async () => {
  await close();
  await camera.stop();
  await rm(dir, { recursive: true, force: true });
});

const captionsAfter = (n: number) => events.filter((e, i) => i >= n && e.type === 'caption');

test('an RTSP camera that disappears and comes back: reconnecting, then live, captions resume, no ffmpeg left', async () => {
  server.streams.add('door', camera.url);
  await waitFor('first caption', () => captionsAfter(0).length > 0, 30_000);
  for (let round = 0; round < 2; round++) {
    await camera.stop();
    const mark = events.length;
    await waitFor('reconnecting or stalled', () => events.slice(mark).find((e) => e.type === 'status' && (e.state === 'reconnecting' || e.state === 'stalled')), 15_000);
    const downReported = events.slice(mark).find((e) => e.type === 'status' && e.state !== 'live');
    assert.ok(downReported && downReported.type === 'status');
    await camera.start();
    await waitFor('live again', () => events.slice(mark).find((e) => e.type === 'status' && e.state === 'live'), 30_000);
    const liveAt = events.length;
    await waitFor('captions resume', () => captionsAfter(liveAt).length > 0, 30_000);
  }
  // Readers left over from failed attempts would pile up here.
  assert.ok(ffmpegPidsWith(`127.0.0.1:${camera.clientPort}`).length <= 1);
  server.streams.remove('door');
  await waitFor('reader ffmpeg gone', () => ffmpegPidsWith(`127.0.0.1:${camera.clientPort}`).length === 0, 5000);
  const seqs = events.filter((e) => e.type === 'caption').map((e) => (e as { seq: number }).seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seq increases by one per caption');
});

test('a camera that cannot be reached reports connection refused and keeps retrying', async () => {
  const mark = events.length;
  server.streams.add('gone', 'rtsp://127.0.0.1:9/none?transport=tcp');
  const status = await waitFor('refused', () => events.slice(mark).find((e) => e.type === 'status' && e.stream === 'gone' && e.state === 'reconnecting'), 15_000);
  assert.match((status as { error: string }).error, /connection refused/);
  await waitFor('second attempt', () => server.streams.get('gone')!.counters.reconnects >= 2, 10_000);
  server.streams.remove('gone');
});
