import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { RtspCamera } from '../helpers/rtsp-camera.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { startTestServer } from '../helpers/test-server.js';
import type { StreamMessage } from '../../src/core/events.js';

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

// The RTSP server is killed and restarted this many times (LIVECAP_RTSP_ROUNDS to change).
const ROUNDS = Number(process.env.LIVECAP_RTSP_ROUNDS ?? 20);

test(`an RTSP camera that disappears and comes back ${ROUNDS} times: reconnecting, then live, captions resume, no ffmpeg left`, async () => {
  server.manager!.add('door', camera.url);
  await waitFor('first caption', () => captionsAfter(0).length > 0, 30_000);
  for (let round = 0; round < ROUNDS; round++) {
    await camera.stop();
    const mark = events.length;
    await waitFor('reconnecting or stalled', () => events.slice(mark).find((e) => e.type === 'status' && (e.state === 'reconnecting' || e.state === 'stalled')), 15_000);
    const downReported = events.slice(mark).find((e) => e.type === 'status' && e.state !== 'live');
    assert.ok(downReported && downReported.type === 'status');
    await camera.start();
    await waitFor('live again', () => events.slice(mark).find((e) => e.type === 'status' && e.state === 'live'), 30_000);
    const liveAt = events.length;
    await waitFor(`captions resume (round ${round + 1})`, () => captionsAfter(liveAt).length > 0, 30_000);
    // Readers left over from failed attempts would pile up here.
    assert.ok(ffmpegPidsWith(`127.0.0.1:${camera.clientPort}`).length <= 1, `one reader at most after round ${round + 1}`);
  }
  server.manager!.remove('door');
  await waitFor('reader ffmpeg gone', () => ffmpegPidsWith(`127.0.0.1:${camera.clientPort}`).length === 0, 5000);
  const seqs = events.filter((e) => e.type === 'caption').map((e) => (e as { seq: number }).seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
    'seq increases by one per caption',
  );
});

test('a camera that cannot be reached reports connection refused and keeps retrying', async () => {
  const mark = events.length;
  server.manager!.add('gone', 'rtsp://127.0.0.1:9/none?transport=tcp');
  const status = await waitFor('refused', () => events.slice(mark).find((e) => e.type === 'status' && e.stream === 'gone' && e.state === 'reconnecting'), 15_000);
  assert.match((status as { error: string }).error, /connection refused/);
  await waitFor('second attempt', () => server.streams.get('gone')!.counters.reconnects >= 2, 10_000);
  server.manager!.remove('gone');
});

test('an ffmpeg frozen with SIGSTOP is replaced by the watchdog within its time, and the frozen one is killed', async () => {
  const clip = join(dir, 'frozen.mp4');
  await writeVideo(videoScript(5, { duration: 6, width: 160, height: 120, fps: 10 }), clip);
  const mark = events.length;
  server.addSource('frozen', { kind: 'file', input: clip, loop: true }, 'frozen');
  await waitFor('live', () => events.slice(mark).find((e) => e.stream === 'frozen' && e.type === 'status' && e.state === 'live'), 15_000);
  const [pid] = ffmpegPidsWith(clip);
  assert.ok(pid, 'its ffmpeg runs');
  const frozenAt = Date.now();
  const stopMark = events.length;
  process.kill(pid, 'SIGSTOP');
  const stalled = await waitFor('stalled', () => events.slice(stopMark).find((e) => e.stream === 'frozen' && e.type === 'status' && e.state === 'stalled'), 10_000);
  const stalledAfter = Date.now() - frozenAt;
  assert.match((stalled as { error: string }).error, /no frame for 3 s/);
  assert.ok(stalledAfter >= 2500 && stalledAfter < 6000, `stalled after ${stalledAfter} ms (watchdog 3 s)`);
  await waitFor('live again', () => events.slice(stopMark).find((e) => e.stream === 'frozen' && e.type === 'status' && e.state === 'live'), 10_000);
  // The frozen one is told to stop and woken to do so: it is gone about as soon as its successor runs.
  const now = await waitFor(
    'one ffmpeg, a new one',
    () => {
      const pids = ffmpegPidsWith(clip);
      return pids.length === 1 && pids[0] !== pid && pids;
    },
    2000,
  );
  assert.notEqual(now[0], pid);
  server.manager!.remove('frozen');
});
