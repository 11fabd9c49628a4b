/**
 * The snapshot for dashboards: the stream's latest analysed frame as a JPEG, with the time it was
 * captured; the same ETag while no newer frame came (304); a stream that ran before but stopped
 * has none (404), nor does an unknown one; behind tokens, `?token=` works as it must for <img>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';

let media: string;
let server: RunningServer;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-snapshot-'));
  await writeVideo(videoScript(45, { duration: 8, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    auth: { viewerTokens: ['viewer-secret'] },
    // One frame a second: a second request soon after the first finds the same frame.
    pipeline: { output: { width: 160, height: 120, fps: 1 } },
  });
  server.manager!.add('clip', 'clip.mp4');
});
after(async () => {
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await rm(media, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer viewer-secret', ...headers } });

test('the latest analysed frame as a JPEG, with its capture time; 304 while no newer frame came', async () => {
  await waitFor('a frame', () => server.manager!.latestFrame('clip'), 20_000);
  let notModified = false;
  for (let attempt = 0; attempt < 3 && !notModified; attempt++) {
    const res = await get('/api/streams/clip/snapshot.jpg');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const frameTime = Number(res.headers.get('x-frame-time'));
    assert.ok(Math.abs(Date.now() - frameTime) < 5000, 'captured just now');
    const image = jpeg.decode(new Uint8Array(await res.arrayBuffer()), { useTArray: true });
    assert.deepEqual([image.width, image.height], [160, 120]);
    // The picture is the frame the pipeline has (JPEG-close).
    const frame = server.manager!.latestFrame('clip')!;
    if (frame.capturedAt === frameTime) {
      let diff = 0;
      for (let i = 0, j = 0; i < frame.data.length; i += 3, j += 4) diff += Math.abs(frame.data[i]! - image.data[j]!);
      assert.ok(diff / (frame.data.length / 3) < 12, `mean red difference ${(diff / (frame.data.length / 3)).toFixed(1)}`);
    }
    const again = await get('/api/streams/clip/snapshot.jpg', { 'if-none-match': res.headers.get('etag')! });
    notModified = again.status === 304;
  }
  assert.ok(notModified, 'the same frame asked for again is not sent again');
});

test('a token in the query works (for <img>), none is refused; no stream, no snapshot', async () => {
  assert.equal((await fetch(`${server.url}/api/streams/clip/snapshot.jpg?token=viewer-secret`)).status, 200);
  assert.equal((await fetch(`${server.url}/api/streams/clip/snapshot.jpg`)).status, 401);
  assert.equal((await get('/api/streams/nope/snapshot.jpg')).status, 404);
});
