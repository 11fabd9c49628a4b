/**
 * Alerts end to end: a file stream captioned by the embedded model, rules from the server's
 * options (as the config file gives them) and one added over /api/rules. Each alert follows the
 * caption it matched in the stream's one sequence, with that caption's text and keyframe; it
 * reaches a WebSocket viewer and an SSE client, is in the history, and comes back after a
 * restart with the rule that raised it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/stream/server.js';
import { videoScript, writeVideo } from '../../src/synth/video.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { SHAPES } from '../../src/synth/world.js';
import { terms } from '../../src/rules/terms.js';
import { waitFor } from '../helpers/processes.js';
import { readEvents } from '../helpers/sse-client.js';
import type { AlertMessage, CaptionMessage, SequencedMessage } from '../../src/core/events.js';

let media: string;
let history: string;
let captioner: Awaited<ReturnType<typeof acquireCaptioner>>;

const start = async (rules = [{ id: 'shape', name: 'A shape', match: [...SHAPES], cooldown: 0 }]) =>
  startServer({
    host: '127.0.0.1',
    port: 0,
    mediaDir: media,
    captioner,
    history: { path: history },
    pipeline: { output: { width: 160, height: 120, fps: 10 } },
    rules,
  });

before(async () => {
  media = await mkdtemp(join(tmpdir(), 'livecap-alerts-'));
  history = join(media, 'history.db');
  captioner = await acquireCaptioner(EMBEDDED_CAPTIONER);
  await writeVideo(videoScript(41, { duration: 12, width: 160, height: 120, fps: 10 }), join(media, 'clip.mp4'));
});
after(async () => {
  await releaseCaptioner(EMBEDDED_CAPTIONER);
  await rm(media, { recursive: true, force: true });
});

const admin = { 'content-type': 'application/json' };

test('alerts follow the captions they match, in the stream sequence, over WebSocket, SSE and history', async () => {
  let server: RunningServer | undefined = await start();
  try {
    // One rule over the API too: it reads a word no caption of this world holds.
    const added = await fetch(`${server.url}/api/rules`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'zebra', match: 'zebra', cooldown: 0 }) });
    assert.equal(added.status, 201, await added.clone().text());
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    const ws: SequencedMessage[] = [];
    socket.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (typeof m.seq === 'number') ws.push(m);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'subscribe', streams: ['clip'] }));
    server.manager!.add('clip', 'clip.mp4');
    const sse = readEvents(await fetch(`${server.url}/api/streams/clip/events`), (events) => events.filter((e) => e.event === 'alert').length >= 3);
    await waitFor('three alerts', () => ws.filter((m) => m.type === 'alert').length >= 3, 60_000);
    const sseAlerts = (await sse).filter((e) => e.event === 'alert');
    socket.close();

    const captions = ws.filter((m): m is CaptionMessage => m.type === 'caption');
    const alerts = ws.filter((m): m is AlertMessage => m.type === 'alert');
    // One sequence, no gap, no repeat.
    assert.deepEqual(
      ws.map((m) => m.seq),
      ws.map((_, i) => ws[0]!.seq + i),
    );
    for (const alert of alerts) {
      const matched = captions.find((c) => c.seq === alert.captionSeq);
      assert.ok(matched, `alert ${alert.seq} names caption ${alert.captionSeq}`);
      assert.equal(alert.seq, matched.seq + 1, 'right after its caption');
      assert.equal(alert.text, matched.text);
      assert.equal(alert.rule, 'shape');
      assert.equal(alert.name, 'A shape');
      assert.equal(alert.on, 'caption');
      assert.equal(alert.keyframeUrl, matched.keyframeUrl);
    }
    // Every caption naming a shape raised one (cooldown 0), and no other did.
    const shapes = new Set(terms(SHAPES.join(' ')));
    const naming = captions.filter((c) => !c.outOfDomain && terms(c.text).some((w) => shapes.has(w)) && c.seq <= alerts.at(-1)!.captionSeq);
    assert.deepEqual(
      alerts.map((a) => a.captionSeq),
      naming.map((c) => c.seq),
    );
    assert.deepEqual(
      sseAlerts.slice(0, 3).map((e) => [Number(e.id), e.data.captionSeq]),
      alerts.slice(0, 3).map((a) => [a.seq, a.captionSeq]),
    );
    // In history as sent.
    const kept = (await (await fetch(`${server.url}/api/streams/clip/captions?limit=1000`)).json()) as { captions: SequencedMessage[] };
    for (const alert of alerts)
      assert.deepEqual(
        kept.captions.find((m) => m.seq === alert.seq),
        alert,
      );
    // The keyframe of an alert is its caption's.
    const jpeg = await fetch(`${server.url}${alerts[0]!.keyframeUrl}`);
    assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');

    const rules = (await (await fetch(`${server.url}/api/rules`)).json()) as { rules: { id: string; source: string; lastAlert?: { seq: number } }[] };
    assert.deepEqual(
      rules.rules.map((r) => [r.id, r.source]),
      [
        ['shape', 'config'],
        ['zebra', 'api'],
      ],
    );
    assert.ok(rules.rules[0]!.lastAlert!.seq >= alerts.at(-1)!.seq);
    await server.close();
    server = undefined;

    // After a restart: the rule added over the API is back, the alerts are in history.
    server = await start();
    const back = (await (await fetch(`${server.url}/api/rules/zebra`)).json()) as { source: string; match: string };
    assert.deepEqual([back.source, back.match], ['api', 'zebra']);
    const again = (await (await fetch(`${server.url}/api/streams/clip/captions?limit=1000`)).json()) as { captions: SequencedMessage[] };
    assert.ok(again.captions.filter((m) => m.type === 'alert').length >= alerts.length);
  } finally {
    await server?.close();
  }
});

test('rules over the API: the config file owns its rules, bad rules are named, replaced rules apply at once', async () => {
  const server = await start([{ id: 'shape', name: 'A shape', match: [...SHAPES], cooldown: 0 }]);
  try {
    const send = (method: string, path: string, body?: unknown) => fetch(`${server.url}${path}`, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
    const bad = await send('POST', '/api/rules', { id: 'x y', match: 5, regex: '(a+)+', colour: 'red' });
    assert.equal(bad.status, 400);
    const { error } = (await bad.json()) as { error: string };
    for (const part of [/rule id must be/, /match must be a word or phrase/, /unknown field colour/]) assert.match(error, part);
    const runaway = await send('POST', '/api/rules', { id: 'runaway', regex: '(a+)+' });
    assert.equal(runaway.status, 400);
    assert.match(((await runaway.json()) as { error: string }).error, /exponential time/);
    assert.equal((await send('PUT', '/api/rules/shape', { id: 'shape', match: 'x' })).status, 409, "the config file's rule");
    assert.equal((await send('DELETE', '/api/rules/shape')).status, 409);
    assert.equal((await send('PUT', '/api/rules/mine', { id: 'other', match: 'x' })).status, 400, 'ids must agree');
    assert.equal((await send('PUT', '/api/rules/mine', { id: 'mine', match: 'circle', cooldown: 0 })).status, 201);
    assert.equal((await send('PUT', '/api/rules/mine', { id: 'mine', match: 'square', cooldown: 0 })).status, 200);
    assert.equal(((await (await send('GET', '/api/rules/mine')).json()) as { match: string }).match, 'square');
    assert.equal((await send('POST', '/api/rules', { id: 'mine', match: 'x' })).status, 409);
    assert.equal((await send('DELETE', '/api/rules/mine')).status, 204);
    assert.equal((await send('DELETE', '/api/rules/mine')).status, 404);
    assert.equal((await send('GET', '/api/rules/mine')).status, 404);
  } finally {
    await server.close();
  }
});
