import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { ffmpegPidsWith, waitFor } from '../helpers/processes.js';
import { decodeImage } from '../../src/media/image.js';

let media: string;
let server: RunningServer;

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-media-'));
  await writeVideo(videoScript(31, { duration: 12, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
  await writeFile(join(media, 'notes.mp4'), 'this is not a video');
  const captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner,
    pipeline: { output: { width: 160, height: 120, fps: 10 }, supervisor: { backoffInitialMs: 200, backoffMaxMs: 1000 } },
  });
});

after(async () => {
  await server.close();
  await server.close();
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  assert.deepEqual(ffmpegPidsWith(media), [], 'no ffmpeg left after close');
  await rm(media, { recursive: true, force: true });
});

class Client {
  readonly messages: any[] = [];
  readonly socket: WebSocket;
  constructor(url: string) {
    this.socket = new WebSocket(url.replace('http', 'ws') + '/ws');
    this.socket.on('message', (d) => this.messages.push(JSON.parse(d.toString())));
  }
  opened() {
    return new Promise((resolve, reject) => {
      this.socket.once('open', resolve);
      this.socket.once('error', reject);
    });
  }
  send(value: unknown) {
    this.socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  }
  next(what: string, match: (m: any) => boolean, timeoutMs = 30_000) {
    return waitFor(what, () => this.messages.find(match), timeoutMs);
  }
}

const post = (body: unknown) => fetch(`${server.url}/api/streams`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });

test('a file stream goes live and its captions reach a WebSocket subscriber', async () => {
  const res = await post({ id: 'clip', url: 'clip.mp4' });
  assert.equal(res.status, 201);
  const client = new Client(server.url);
  await client.opened();
  const hello = await client.next('hello', (m) => m.type === 'hello');
  assert.equal(hello.version, 1);
  client.send({ type: 'subscribe', streams: ['clip'] });
  await client.next('live status', (m) => m.type === 'status' && m.stream === 'clip' && m.state === 'live');
  const caption = await client.next('a caption', (m) => m.type === 'caption' && m.stream === 'clip');
  assert.equal(caption.seq, 1);
  assert.match(caption.text, /\b(circle|square|triangle|star|cross|circles|squares|triangles|stars|crosses|shapes)\b/);
  assert.ok(caption.latencyMs >= 0 && caption.latencyMs < 10_000);
  // The event names its keyframe; the picture is served beside the history, not inside it.
  assert.equal(caption.keyframeUrl, '/api/streams/clip/keyframes/1.jpg');
  assert.equal(caption.keyframe, undefined);
  const image = await fetch(`${server.url}${caption.keyframeUrl}`);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get('content-type'), 'image/jpeg');
  assert.match(image.headers.get('cache-control') ?? '', /immutable/);
  // The thumbnail is the picture, not an empty buffer: its pixels vary.
  const thumb = decodeImage(Buffer.from(await image.arrayBuffer()));
  assert.deepEqual([thumb.width, thumb.height], [160, 120]);
  assert.ok(new Set(thumb.data).size > 20, 'keyframe has picture content');
  const again = await fetch(`${server.url}${caption.keyframeUrl}`, { headers: { 'if-none-match': image.headers.get('etag')! } });
  assert.equal(again.status, 304);
  const missing = await fetch(`${server.url}/api/streams/clip/keyframes/999999.jpg`);
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error, /no keyframe for seq 999999/);
  const bad = await fetch(`${server.url}/api/streams/clip/keyframes/..%2F1.jpg`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /SEQ\.jpg/);
  assert.ok(caption.frameTs <= caption.ts);
  const history = await (await fetch(`${server.url}/api/streams/clip/captions?since=0`)).json();
  assert.equal(history.captions[0].text, caption.text);
  client.socket.close();
});

test('malformed and unknown WebSocket messages get an error and the connection stays open', async () => {
  const client = new Client(server.url);
  await client.opened();
  await client.next('hello', (m) => m.type === 'hello');
  client.send('{not json');
  await client.next('bad_json', (m) => m.type === 'error' && m.code === 'bad_json');
  client.send({ type: 'dance' });
  await client.next('unknown_type', (m) => m.type === 'error' && m.code === 'unknown_type');
  client.send({ type: 'subscribe', streams: 'clip' });
  await client.next('bad_streams', (m) => m.type === 'error' && m.code === 'bad_streams');
  // Every bad field at once; the code names the first.
  client.send({ type: 'subscribe', streams: [1], since: { clip: -1 } });
  const both = await client.next('bad_streams and bad since', (m) => m.type === 'error' && m.code === 'bad_streams' && /since/.test(m.message));
  assert.match(both.message, /streams must be an array of stream ids; since values must be whole numbers ≥ 0 .*"clip": -1/);
  client.send({ type: 'subscribe', streams: ['nope'] });
  await client.next('unknown_stream', (m) => m.type === 'error' && m.code === 'unknown_stream');
  assert.equal(client.socket.readyState, WebSocket.OPEN);
  client.send({ type: 'subscribe', streams: ['clip'], since: { clip: 0 } });
  await client.next('replayed caption', (m) => m.type === 'caption' && m.stream === 'clip' && m.seq === 1);
  client.socket.close();
});

test('an oversize WebSocket message closes that socket with 1009 and nothing else', async () => {
  const client = new Client(server.url);
  await client.opened();
  const closed = new Promise<number>((resolve) => client.socket.once('close', (code) => resolve(code)));
  client.send('x'.repeat(70 * 1024));
  assert.equal(await closed, 1009);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('bad stream requests are refused with what is wrong', async () => {
  const cases: [unknown, number, RegExp][] = [
    [{ id: 'a', url: 'ftp://x/y' }, 400, /unsupported source scheme/],
    [{ id: 'b', url: 'http://' }, 400, /not a valid URL|no host/],
    [{ id: 'c', url: '../../etc/passwd' }, 400, /outside the media folder/],
    [{ id: 'bad id!', url: 'clip.mp4' }, 400, /stream id must be/],
    [{ id: 'clip', url: 'clip.mp4' }, 409, /already exists/],
    ['{"id":', 400, /must be a JSON object/],
    [[1, 2], 400, /must be a JSON object/],
    // Every bad field is named at once, in the request's form and against what the server has.
    [{ id: 'bad id!', url: 5, prompt: 42 }, 400, /stream id must be .*; stream url must be a string; got 5; prompt must be a non-empty string; got 42/],
    [{ id: 'm', url: 'ftp://x/y', captioner: 'nope' }, 400, /unsupported source scheme.*; captioner must be one that the server loaded .*"nope"/],
  ];
  for (const [body, status, message] of cases) {
    const res = await post(body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match((await res.json()).error, message);
  }
});

test('a file that is not video reports an error status and retries while other streams keep going', async () => {
  assert.equal((await post({ id: 'notes', url: 'notes.mp4' })).status, 201);
  const client = new Client(server.url);
  await client.opened();
  client.send({ type: 'subscribe', streams: ['notes'] });
  const status = await client.next('error status', (m) => m.type === 'status' && m.stream === 'notes' && m.state === 'reconnecting');
  assert.match(status.error, /not a video/);
  const before = server.streams.get('notes')!.counters.reconnects;
  await waitFor('another retry', () => server.streams.get('notes')!.counters.reconnects > before, 10_000);
  assert.equal(server.streams.get('clip')!.state, 'live');
  client.socket.close();
});

test('a webcam that is not there reports no such device', async () => {
  assert.equal((await post({ id: 'cam', url: '/dev/video63' })).status, 201);
  const status = await waitFor(
    'no such device',
    () => {
      const info = server.streams.get('cam');
      return info?.state === 'reconnecting' && info.error ? info : undefined;
    },
    15_000,
  );
  assert.match(status.error!, /no such device/);
  assert.equal((await fetch(`${server.url}/api/streams/cam`, { method: 'DELETE' })).status, 204);
});

test('DELETE stops a stream and its ffmpeg', async () => {
  await waitFor('clip ffmpeg running', () => ffmpegPidsWith(join(media, 'clip.mp4')).length > 0);
  assert.equal((await fetch(`${server.url}/api/streams/clip`, { method: 'DELETE' })).status, 204);
  await waitFor('clip ffmpeg gone', () => ffmpegPidsWith(join(media, 'clip.mp4')).length === 0, 5000);
  assert.equal((await fetch(`${server.url}/api/streams/clip`, { method: 'DELETE' })).status, 404);
  const list = await (await fetch(`${server.url}/api/streams`)).json();
  assert.deepEqual(
    list.streams.map((s: { id: string }) => s.id),
    ['notes'],
  );
});

test('the viewer page and its assets are served, and paths cannot escape public/', async () => {
  const page = await fetch(`${server.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /aria-live="polite"/);
  assert.equal((await fetch(`${server.url}/viewer/viewer.js`)).status, 200);
  assert.equal((await fetch(`${server.url}/viewer/..%2F..%2Fpackage.json`)).status, 404);
});

test('a server that cannot listen (port taken) fails with the reason and leaves its history store closed', async () => {
  const path = join(media, 'taken.db');
  await assert.rejects(
    startServer({ host: '127.0.0.1', port: server.port, captioner: await acquireCaptioner(EMBEDDED_CAPTIONER), history: { path }, pipeline: { output: { width: 160, height: 120, fps: 10 } } }),
    /EADDRINUSE/,
  );
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  // Closed: its write-ahead log was checkpointed into the file and emptied.
  const { statSync, existsSync } = await import('node:fs');
  assert.ok(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0);
});
