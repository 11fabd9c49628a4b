/**
 * History over HTTP: WebVTT and SubRip subtitles of a time range, full-text search with
 * filters, and server-sent events that resume from Last-Event-ID with no gap and no duplicate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { cues, toSrt, toWebVtt } from '../../src/stream/subtitles.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/processes.js';
import { readEvents } from '../helpers/sse-client.js';
import type { CaptionMessage } from '../../src/core/events.js';

const caption = (seq: number, frameTs: number, text: string): CaptionMessage => ({ type: 'caption', stream: 's', seq, ts: frameTs + 30, frameTs, text, latencyMs: 30 });

test('captions become cues from their frame to the next one, written as WebVTT and SubRip', () => {
  const list = cues([caption(1, 10_000, 'a red circle'), caption(2, 12_500, 'a <b> & c --> d'), caption(3, 40_000, 'three  stars\non snow')], 9_000);
  assert.deepEqual(list, [
    { start: 1000, end: 3500, text: 'a red circle' },
    { start: 3500, end: 13_500, text: 'a <b> & c --> d' },
    { start: 31_000, end: 41_000, text: 'three stars on snow' },
  ]);
  assert.equal(
    toWebVtt(list, 'cam'),
    'WEBVTT - cam\n\n00:00:01.000 --> 00:00:03.500\na red circle\n\n00:00:03.500 --> 00:00:13.500\na &lt;b&gt; &amp; c --&gt; d\n\n00:00:31.000 --> 00:00:41.000\nthree stars on snow\n',
  );
  assert.equal(toSrt(list.slice(0, 2)), '1\n00:00:01,000 --> 00:00:03,500\na red circle\n\n2\n00:00:03,500 --> 00:00:13,500\na <b> & c -> d\n');
  assert.deepEqual(cues([caption(1, 3_600_000 * 2 + 61_001, 'late')], 0)[0], { start: 7_261_001, end: 7_271_001, text: 'late' });
});

let ts: TestServer;
let media: string;
before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-history-api-'));
  await writeVideo(videoScript(91, { duration: 10, minScene: 0.8, maxScene: 1.5, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
  ts = await startTestServer({ mediaDir: media });
  ts.server.manager!.add('clip', 'clip.mp4');
  await waitFor('five captions', () => ts.events.filter((m) => m.type === 'caption').length >= 5, 60_000);
});
after(async () => {
  await ts.close();
  await rm(media, { recursive: true, force: true });
});

const get = (path: string) => fetch(`${ts.server.url}${path}`);

test('captions.vtt and captions.srt hold the stream captions of the range', async () => {
  const stored = ts.server.streams.history('clip', 0, 1000).filter((m) => m.type === 'caption');
  const vtt = await get('/api/streams/clip/captions.vtt');
  assert.equal(vtt.headers.get('content-type'), 'text/vtt; charset=utf-8');
  const text = await vtt.text();
  assert.match(text, /^WEBVTT - livecap clip\n\n00:00:00\.000 --> /);
  const cueTexts = text
    .split('\n\n')
    .slice(1)
    .filter(Boolean)
    .map((block) => block.split('\n')[1]);
  assert.ok(cueTexts.length >= stored.length, 'every stored caption (and those since) is a cue');
  assert.deepEqual(
    cueTexts.slice(0, stored.length),
    stored.map((m) => m.text),
  );

  const srt = await (await get('/api/streams/clip/captions.srt')).text();
  assert.match(srt, /^1\n00:00:00,000 --> 00:00:\d\d,\d{3}\n/);
  const future = await (await get(`/api/streams/clip/captions.srt?from=${Date.now() + 60_000}&to=${Date.now() + 120_000}`)).text();
  assert.equal(future, '', 'nothing in a range with no captions');
  const bad = await get('/api/streams/clip/captions.vtt?from=yesterday');
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /from must be epoch milliseconds or an ISO 8601 time, got 'yesterday'/);
  assert.equal((await get('/api/streams/nope/captions.vtt')).status, 404);
});

test('search finds captions by their words, filtered by stream and time', async () => {
  const first = ts.server.streams.history('clip', 0, 1).find((m) => m.type === 'caption')!;
  const word = first.text.split(' ').find((w) => /circle|square|triangle|star|cross/.test(w))!;
  const res = (await (await get(`/api/search?q=${encodeURIComponent(word)}&stream=clip`)).json()) as { results: { seq: number; text: string; snippet: string }[] };
  assert.ok(
    res.results.some((r) => r.seq === first.seq && r.text === first.text),
    `${word} finds caption ${first.seq}`,
  );
  assert.ok(res.results.every((r) => r.snippet.includes('[')));
  const later = (await (await get(`/api/search?q=${encodeURIComponent(word)}&from=${new Date(first.ts + 1).toISOString()}`)).json()) as { results: { seq: number }[] };
  assert.ok(
    later.results.every((r) => r.seq !== first.seq),
    'from excludes older events',
  );
  assert.deepEqual((await (await get('/api/search?q=zebra')).json()).results, []);
  const missing = await get('/api/search');
  assert.equal(missing.status, 400);
  assert.match((await missing.json()).error, /q is required/);
});

test('server-sent events resume after Last-Event-ID, then go on live with no gap or duplicate', async () => {
  const res = await fetch(`${ts.server.url}/api/streams/clip/events`, { headers: { 'last-event-id': '2' } });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const have = ts.server.streams.store.lastSeq('clip');
  const events = await readEvents(res, (e) => e.filter((x) => x.id).length >= have - 2 + 2);
  const sequenced = events.filter((e) => e.id !== undefined);
  assert.deepEqual(
    sequenced.map((e) => Number(e.id)),
    sequenced.map((_, i) => 3 + i),
    'from seq 3 on, each once',
  );
  assert.ok(sequenced.every((e) => e.event === e.data.type && e.data.seq === Number(e.id)));
  assert.ok(Number(sequenced.at(-1)!.id) > have, 'live events followed the replay');
  assert.equal(events[0]!.event, 'status');

  const bad = await fetch(`${ts.server.url}/api/streams/clip/events`, { headers: { 'last-event-id': 'abc' } });
  assert.equal(bad.status, 400);
  assert.equal((await fetch(`${ts.server.url}/api/streams/nope/events`)).status, 404);
});

test('server-sent events after a Last-Event-ID this server has not reached yet start after it (a cluster node that lags another)', async () => {
  const ahead = ts.server.streams.store.lastSeq('clip') + 2;
  const res = await fetch(`${ts.server.url}/api/streams/clip/events`, { headers: { 'last-event-id': String(ahead) } });
  const events = await readEvents(res, (e) => e.filter((x) => x.id).length >= 2);
  assert.deepEqual(
    events.filter((e) => e.id !== undefined).map((e) => Number(e.id)),
    [ahead + 1, ahead + 2],
  );
});

test('/metrics has per-stream counters, the caption latency histogram, hub and event-loop numbers', async () => {
  const res = await get('/metrics');
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  const text = await res.text();
  const value = (series: string) => {
    const m = new RegExp(`^${series.replace(/[{}"]/g, (ch) => `\\${ch}`)} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `${series} in /metrics`);
    return Number(m[1]);
  };
  const captions = value('livecap_stream_captions_total{stream="clip"}');
  assert.ok(captions >= 5);
  assert.equal(value('livecap_caption_latency_seconds_count{stream="clip"}'), captions, 'one latency per caption');
  assert.ok(value('livecap_stream_frames_total{stream="clip"}') > value('livecap_stream_keyframes_total{stream="clip"}'));
  for (const name of [
    'livecap_stream_dropped_keyframes_total{stream="clip"}',
    'livecap_stream_reconnects_total{stream="clip"}',
    'livecap_stream_stalls_total{stream="clip"}',
    'livecap_viewers',
    'livecap_viewer_messages_total',
    'livecap_viewers_dropped_total',
  ]) {
    assert.ok(value(name) >= 0, name);
  }
  assert.ok(value('livecap_history_events') >= captions);
  assert.equal(value('livecap_history_write_failures_total'), 0);
  assert.equal(value('livecap_history_events_held_back_total'), 0);
  assert.equal(value('livecap_streams_degraded'), 0);
  assert.ok(value('nodejs_eventloop_lag_seconds') >= 0);
});

test('/readyz: ready while history is written, with no degraded stream', async () => {
  const res = await get('/readyz');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ready: true, checks: { models: 'loaded', history: 'ok' }, degraded: [] });
});

test('/openapi.json describes every route the server answers', async () => {
  const doc = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.equal(doc.openapi, '3.1.0');
  const routes = ts.server.app.routes.filter((r) => !r.path.includes('*') && (r.path.startsWith('/api') || ['/healthz', '/readyz', '/metrics', '/openapi.json'].includes(r.path)));
  assert.ok(routes.length >= 11);
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    assert.ok(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${path} is described`);
  }
});
