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
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { HistoryStore } from '../../src/store/history-store.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/processes.js';

let ts: TestServer;
let media: string;
before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-gap-'));
  await writeVideo(videoScript(321, { duration: 10, minScene: 0.5, maxScene: 0.9, width: 160, height: 120, fps: 10 }), join(media, 'fast.mp4'));
  ts = await startTestServer({ mediaDir: media, history: { path: ':memory:', maxEvents: 4 } });
  ts.server.manager!.add('fast', 'fast.mp4');
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
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => first + i),
    'then every seq from the oldest kept, once',
  );
  socket.close();
});

test('subscribing from the start of a long history replays the newest that fit, after a gap, without being dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-long-'));
  const path = join(dir, 'history.db');
  const store = new HistoryStore({ path });
  // As large as captions were when they carried their keyframe inline.
  const padding = ' ' + 'A'.repeat(6000);
  for (let seq = 1; seq <= 3000; seq++) store.append({ type: 'caption', stream: 'cam', seq, ts: Date.now(), frameTs: Date.now(), text: `caption ${seq}${padding}`, latencyMs: 1 });
  store.close();
  const long = await startTestServer({ history: { path } });
  try {
    long.server.addSource('cam', { kind: 'file', input: join(dir, 'missing.mp4'), loop: false }, 'cam');
    const socket = new WebSocket(long.server.url.replace('http', 'ws') + '/ws');
    const got: any[] = [];
    let closed: number | undefined;
    socket.on('message', (d) => got.push(JSON.parse(d.toString())));
    socket.on('close', (code) => (closed = code));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'subscribe', streams: ['cam'], since: { cam: 0 } }));
    await waitFor('the replay', () => got.some((m) => m.seq === 3000), 10_000);
    const gap = got.find((m) => m.type === 'gap');
    const seqs = got.filter((m) => m.type === 'caption').map((m) => m.seq);
    assert.deepEqual(gap, { type: 'gap', stream: 'cam', from: 1, to: seqs[0] - 1 });
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0] + i),
      'the newest, in order, up to 3000',
    );
    assert.ok(seqs.length > 50 && seqs.length < 100, `${seqs.length} events of ~6 kB fit in 512 KiB`);
    assert.equal(closed, undefined, 'not dropped as a slow viewer');
    assert.equal(long.server.hub.stats.droppedViewers, 0);
    socket.close();
  } finally {
    await long.close();
    await rm(dir, { recursive: true, force: true });
  }
});
