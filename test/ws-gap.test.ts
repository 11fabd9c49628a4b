/**
 * When history no longer reaches back to what a viewer asks for, the viewer is told: a `gap`
 * message naming the missing seqs comes first, then what history still holds, then live events.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { waitFor } from './helpers/processes.js';

let ts: TestServer;
let media: string;
before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-gap-'));
  await writeVideo(videoScript(321, { duration: 10, minScene: 0.5, maxScene: 0.9, width: 160, height: 120, fps: 10 }), join(media, 'fast.mp4'));
  ts = await startTestServer({ mediaDir: media, history: { path: ':memory:', maxEvents: 4 } });
  ts.server.streams.add('fast', 'fast.mp4');
});
after(async () => {
  await ts.close();
  await rm(media, { recursive: true, force: true });
});

test('a viewer asking from before what history keeps gets a gap, then the rest, then live events', async () => {
  await waitFor('eight captions', () => ts.events.filter((m) => m.type === 'caption').length >= 8, 60_000);
  ts.server.streams.store.prune();
  const first = ts.server.streams.store.firstSeq('fast')!;
  assert.ok(first > 1, 'retention removed the oldest events');
  const socket = new WebSocket(ts.server.url.replace('http', 'ws') + '/ws');
  const got: any[] = [];
  socket.on('message', (d) => got.push(JSON.parse(d.toString())));
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'subscribe', streams: ['fast'], since: { fast: 0 } }));
  await waitFor('a live event after the replay', () => got.filter((m) => typeof m.seq === 'number').length >= 6, 30_000);
  const stream = got.filter((m) => m.stream === 'fast' && m.type !== 'status');
  assert.deepEqual(stream[0], { type: 'gap', stream: 'fast', from: 1, to: first - 1 });
  const seqs = stream.slice(1).map((m) => m.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => first + i), 'then every seq from the oldest kept, once');
  socket.close();
});
