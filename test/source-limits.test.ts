import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { parseSource } from '../src/ingest/source.js';
import { supervisedFrames } from '../src/ingest/supervised-source.js';
import { FFMPEG } from '../src/media/ffmpeg.js';
import { ffmpegPidsWith, waitFor } from './helpers/processes.js';
import { startTestServer } from './helpers/test-server.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-limits-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

test('an MJPEG camera over HTTP is analysed at the asked frame rate', async (t) => {
  // A camera sending multipart/x-mixed-replace JPEGs at 10 fps, made by ffmpeg's mpjpeg muxer.
  let parts = 0;
  const camera = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace;boundary=ffmpeg' });
    const producer = spawn(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-q:v', '5', '-f', 'mpjpeg', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    producer.stdout.on('data', (chunk: Buffer) => {
      parts += chunk.toString('latin1').split('--ffmpeg').length - 1;
      res.write(chunk);
    });
    res.on('close', () => producer.kill('SIGKILL'));
  });
  const origin = await listen(camera);
  let frames = 0;
  const subscription = supervisedFrames(parseSource(`${origin}/video.mjpg`), { width: 160, height: 120, fps: 10 }, () => {}).subscribe(() => frames++);
  try {
    await waitFor('first frames', () => frames >= 5, 30_000);
    const [frames0, parts0] = [frames, parts];
    await waitFor('50 more JPEGs sent', () => parts - parts0 >= 50, 60_000);
    // Frames still in the pipe catch up; what matters is the ratio, not the clock.
    await new Promise((r) => setTimeout(r, 500));
    const ratio = (frames - frames0) / (parts - parts0);
    t.diagnostic(`analysed/sent = ${frames - frames0}/${parts - parts0} = ${ratio.toFixed(2)}`);
    assert.ok(ratio > 0.7 && ratio < 1.3, `analysed ${frames - frames0} frames for ${parts - parts0} sent (ratio ${ratio.toFixed(2)}; before the fix it was about 0.4)`);
  } finally {
    subscription.unsubscribe();
    await shut(camera);
  }
});

test('a file with ?loop=false plays once and the stream ends as stopped, not restarted', async () => {
  const media = join(dir, 'media');
  await mkdir(media);
  await writeVideo(videoScript(5, { duration: 3, width: 160, height: 120, fps: 10 }), join(media, 'short.mp4'));
  const { server, events, close } = await startTestServer({ mediaDir: media, supervisor: { backoffInitialMs: 200, backoffMaxMs: 400 } });
  try {
    server.streams.add('once', `file://${media}/short.mp4?loop=false`);
    await waitFor('stopped', () => events.find((e) => e.type === 'status' && e.stream === 'once' && e.state === 'stopped'), 30_000);
    const states = events.filter((e) => e.type === 'status' && e.stream === 'once').map((e) => (e as { state: string; error?: string }));
    assert.deepEqual(states.map((s) => s.state), ['live', 'stopped'], JSON.stringify(states));
    assert.equal(states[1]!.error, undefined, 'the end of a file played once is not an error');
    assert.equal(server.streams.get('once')?.state, 'stopped');
    assert.ok(events.some((e) => e.type === 'caption' && e.stream === 'once'), 'the file was captioned');
    // Nothing starts it again.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(ffmpegPidsWith(media), []);
    assert.equal(events.filter((e) => e.type === 'status' && e.stream === 'once').length, 2);
  } finally {
    await close();
  }
});
