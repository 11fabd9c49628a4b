import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { runFfmpeg } from '../../src/media/ffmpeg.js';
import { waitFor } from '../helpers/processes.js';
import { startTestServer } from '../helpers/test-server.js';
import type { StreamMessage } from '../../src/core/events.js';

let dir: string;
let http: Server;
let origin: string;
let server: RunningServer;
let events: StreamMessage[];
let close: () => Promise<void>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'livecap-hls-'));
  await writeVideo(videoScript(41, { duration: 12, width: 320, height: 240, fps: 15 }), join(dir, 'clip.mp4'));
  await runFfmpeg(['-i', join(dir, 'clip.mp4'), '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_list_size', '0', join(dir, 'index.m3u8')]);
  // A plain static HTTP server on loopback, as a CDN or an NVR would serve HLS.
  http = createServer(async (req, res) => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0])));
    try {
      if (!path.startsWith(dir + '/')) throw new Error('outside');
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': path.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  ({ server, events, close } = await startTestServer({ supervisor: { backoffInitialMs: 300 } }));
});

after(async () => {
  await close();
  await new Promise((r) => http.close(r));
  await rm(dir, { recursive: true, force: true });
});

test('an HLS stream over HTTP is captioned', async () => {
  server.manager!.add('hls', `${origin}/index.m3u8`);
  const caption = await waitFor('caption', () => events.find((e) => e.type === 'caption' && e.stream === 'hls'), 30_000);
  assert.ok(caption.type === 'caption' && caption.text.length > 0);
  server.manager!.remove('hls');
});

test('an HTTP URL that is not there reports not found and keeps retrying', async () => {
  server.manager!.add('missing', `${origin}/nothing.m3u8`);
  const status = await waitFor('not found', () => events.find((e) => e.type === 'status' && e.stream === 'missing' && e.state === 'reconnecting'), 15_000);
  assert.match((status as { error: string }).error, /not found/);
  server.manager!.remove('missing');
});
