/**
 * Replay under hostile clients: one subscribe naming a stream hundreds of times, or dozens of
 * subscribes from seq 0, over a long history of keyframe-sized captions. Each stream is replayed
 * once per subscribe, a connection gets at most its replay budget (then `replay_budget` errors
 * and gaps, counted in /metrics), history is read in chunks that let the event loop run, and
 * live events that arrive while a replay is being read reach the viewer once, after it. SSE
 * shares the byte budget, has a connection cap, and its clients count as viewers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { RunningServer } from '../../src/stream/server.js';
import { REPLAY_DEFAULTS } from '../../src/stream/replay.js';
import { startTestServer } from '../helpers/test-server.js';
import { waitFor } from '../helpers/processes.js';
import { readEvents } from '../helpers/sse-client.js';
import type { CaptionMessage } from '../../src/core/events.js';

/** Makes a caption as large as one that carried its keyframe inline (events used to). */
const PADDING = ' ' + 'A'.repeat(4000);

function caption(stream: string, seq: number, padding = ''): CaptionMessage {
  const now = Date.now();
  return { type: 'caption', stream, seq, ts: now, frameTs: now - 40, text: `a large red circle on the grass in the middle, caption ${seq}${padding}`, latencyMs: 40 };
}

/** A stream whose source never starts, with `events` captions in its history. */
function longHistory(server: RunningServer, id: string, events: number, padding?: string): void {
  for (let seq = 1; seq <= events; seq++) server.streams.store.append(caption(id, seq, padding));
  server.addSource(id, { kind: 'file', input: `/nonexistent/${id}.mp4`, loop: false }, id);
}

/** A live event the way a stream makes one: stored first, then published. */
function live(server: RunningServer, id: string): number {
  const m = caption(id, server.streams.store.lastSeq(id) + 1);
  server.streams.store.append(m);
  server.bus.publish(m);
  return m.seq;
}

async function connect(server: RunningServer): Promise<{ ws: WebSocket; got: any[]; bytes: () => number; closed: () => number | undefined }> {
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  const got: any[] = [];
  let bytes = 0;
  let closed: number | undefined;
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.type === 'caption') bytes += d.toString().length;
    got.push(m);
  });
  ws.on('close', (code) => (closed = code));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, got, bytes: () => bytes, closed: () => closed };
}

test('a subscribe naming a stream 256 times and 40 more from seq 0: one replay each, within the connection budget, and the event loop keeps running', async () => {
  const ts = await startTestServer();
  try {
    longHistory(ts.server, 'cam', 6000, PADDING);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = Date.now();
    const client = await connect(ts.server);
    client.ws.send(JSON.stringify({ type: 'subscribe', streams: Array(256).fill('cam'), since: { cam: 0 } }));
    for (let i = 0; i < 40; i++) client.ws.send(JSON.stringify({ type: 'subscribe', streams: ['cam', 'cam'], since: { cam: 0 } }));
    await waitFor('a gap for each of the 41 subscribes', () => client.got.filter((m) => m.type === 'gap').length === 41, 60_000);
    delay.disable();
    const minutes = (Date.now() - started) / 60_000;

    const refusals = client.got.filter((m) => m.type === 'error' && m.code === 'replay_budget');
    assert.ok(refusals.length >= 30, `most of the 41 replays were refused (${refusals.length})`);
    assert.match(refusals[0].message, /replay budget .*\/api\/streams\/cam\/captions\?since=0/);
    assert.equal(ts.server.hub.stats.replaysRefused, refusals.length, 'each refusal counted');
    const allowed = REPLAY_DEFAULTS.connectionBytes * (1 + minutes) + 64 * 1024;
    assert.ok(client.bytes() <= allowed, `${client.bytes()} bytes replayed, budget ${allowed}`);
    assert.ok(client.bytes() > REPLAY_DEFAULTS.connectionBytes / 2, 'the budget was used');
    assert.equal(client.closed(), undefined, 'a reading viewer is not dropped');
    const worst = delay.max / 1e6;
    // The whole history read at once took seconds here; chunks of 256 rows take milliseconds.
    assert.ok(worst < 1000, `event loop blocked at most ${worst.toFixed(0)} ms`);

    const metrics = await (await fetch(`${ts.server.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`^livecap_replay_refused_total ${refusals.length}$`, 'm'));
    client.ws.close();
  } finally {
    await ts.close();
  }
});

test('live events that arrive while a long replay is being read in chunks reach WebSocket and SSE viewers once, after it', async () => {
  const ts = await startTestServer({ hub: { replay: { chunkRows: 8 } } });
  try {
    const { server } = ts;
    longHistory(server, 'cam', 800);
    const client = await connect(server);
    client.ws.send(JSON.stringify({ type: 'subscribe', streams: ['cam'], since: { cam: 0 } }));
    const sse = fetch(`${server.url}/api/streams/cam/events?since=0`);
    // One live event per turn of the event loop, while a replay is being read and a while after.
    let during = 0;
    let after = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        live(server, 'cam');
        if (server.hub.stats.replaying > 0) during++;
        else if (++after >= 20) return resolve();
        setImmediate(tick);
      };
      tick();
    });
    const last = server.streams.store.lastSeq('cam');
    assert.ok(during > 10, `${during} live events arrived while the replay was read`);
    await waitFor('the last live event over WebSocket', () => client.got.some((m) => m.seq === last), 20_000);
    const wsSeqs = client.got.filter((m) => m.type === 'caption').map((m) => m.seq);
    assert.deepEqual(
      wsSeqs,
      Array.from({ length: last }, (_, i) => i + 1),
      'every seq from 1 once, in order',
    );
    assert.ok(!client.got.some((m) => m.type === 'gap'));

    const events = await readEvents(await sse, (e) => e.some((x) => x.data.seq === last));
    const sseSeqs = events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    assert.deepEqual(
      sseSeqs,
      Array.from({ length: last }, (_, i) => i + 1),
      'over SSE too',
    );
    client.ws.close();
  } finally {
    await ts.close();
  }
});

test('since values that are not whole numbers ≥ 0 are answered with bad_since, and nothing is subscribed', async () => {
  const ts = await startTestServer();
  try {
    longHistory(ts.server, 'cam', 3);
    const client = await connect(ts.server);
    const bad = [-1, 1.5, '2', null, 1e300, true];
    for (const seq of bad) client.ws.send(JSON.stringify({ type: 'subscribe', streams: ['cam'], since: { cam: seq } }));
    client.ws.send(JSON.stringify({ type: 'subscribe', streams: ['cam'], since: { cam: 1 } }));
    await waitFor('the good replay', () => client.got.some((m) => m.seq === 3), 10_000);
    const errors = client.got.filter((m) => m.type === 'error');
    assert.equal(errors.length, bad.length);
    for (const [i, e] of errors.entries()) {
      assert.equal(e.code, 'bad_since');
      assert.ok(e.message.includes(`"cam": ${JSON.stringify(bad[i])}`), e.message);
    }
    assert.deepEqual(
      client.got.filter((m) => m.type === 'caption').map((m) => m.seq),
      [2, 3],
      'only the good subscribe replayed',
    );
    client.ws.close();
  } finally {
    await ts.close();
  }
});

test('an SSE replay is held to the byte budget, SSE clients count as viewers, and past the cap a client gets 503', async () => {
  const ts = await startTestServer({ sse: { maxClients: 2 } });
  try {
    const { server } = ts;
    longHistory(server, 'cam', 3000, PADDING);
    const first = await fetch(`${server.url}/api/streams/cam/events`, { headers: { 'last-event-id': '0' } });
    const events = await readEvents(first, (e) => e.some((x) => x.data.seq === 3000));
    const replayed = events.filter((e) => e.event === 'caption');
    assert.equal(events.find((e) => e.event === 'gap')?.data.to, replayed[0]!.data.seq - 1, 'a gap, then the newest that fit');
    const bytes = replayed.reduce((n, e) => n + e.bytes, 0);
    assert.ok(bytes <= 512 * 1024, `${bytes} bytes replayed, at most 512 KiB`);

    const open = await Promise.all([1, 2].map(() => fetch(`${server.url}/api/streams/cam/events`)));
    const health = await (await fetch(`${server.url}/healthz`)).json();
    assert.equal(health.viewers, 2, 'SSE clients are viewers');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^livecap_viewers 2$/m);
    assert.match(metrics, /^livecap_sse_viewers 2$/m);
    const refused = await fetch(`${server.url}/api/streams/cam/events`);
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.match((await refused.json()).error, /too many server-sent event connections \(2 open\)/);
    await Promise.all(open.map((r) => r.body!.cancel()));
    const viewers = async () => ((await (await fetch(`${server.url}/healthz`)).json()) as { viewers: number }).viewers;
    for (let i = 0; i < 200 && (await viewers()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await viewers(), 0, 'SSE clients that left are no longer counted');
    const again = await fetch(`${server.url}/api/streams/cam/events`);
    assert.equal(again.status, 200, 'and there is room again');
    await again.body!.cancel();
  } finally {
    await ts.close();
  }
});

test("a client that reconnects in a loop gets no more replay than one that stays: the budget is its address's, shared with its SSE requests", async () => {
  const ts = await startTestServer({ hub: { replay: { connectionEvents: 1000, connectionBytes: 1e9, addressEvents: 300, addressBytes: 1e9 } } });
  try {
    longHistory(ts.server, 'cam', 1000);
    let replayed = 0;
    let refusals = 0;
    for (let round = 0; round < 6; round++) {
      const c = await connect(ts.server);
      c.ws.send(JSON.stringify({ type: 'subscribe', streams: ['cam'], since: { cam: 0 } }));
      // The replay ends with a gap (history reaches further than what is sent), then nothing more.
      await waitFor('the replay', () => c.got.some((m) => m.type === 'gap'), 10_000);
      replayed += c.got.filter((m) => m.type === 'caption').length;
      refusals += c.got.filter((m) => m.type === 'error' && m.code === 'replay_budget').length;
      c.ws.close();
    }
    // 300 a minute from this address, refilled at 5 a second while the test runs.
    assert.ok(replayed <= 340, `${replayed} events replayed over 6 connections from one address`);
    assert.ok(replayed >= 300, `${replayed} events replayed: the first connection gets the address's budget`);
    assert.ok(refusals >= 4, `${refusals} connections told their replay budget is spent`);
    // Server-sent events from the same address draw on the same budget.
    const res = await fetch(`${ts.server.url}/api/streams/cam/events?since=0`);
    const events = await readEvents(res, (e) => e.some((x) => x.event === 'gap'));
    assert.ok(
      events.some((e) => e.event === 'error' && e.data.code === 'replay_budget'),
      'SSE is told the budget is spent',
    );
    assert.ok(events.filter((e) => e.event === 'caption').length <= 40, 'SSE gets only what refilled');
  } finally {
    await ts.close();
  }
});
