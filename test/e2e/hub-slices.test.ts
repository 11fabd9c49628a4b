/**
 * A broadcast to many viewers is written a slice at a time, so the event loop runs between
 * slices; every viewer still gets every message once and in order, direct messages (the
 * status sent on subscribing) included. Real server, real ws clients, a small slice so that a
 * handful of sockets shows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';

test('a broadcast burst leaves the event loop between slices and every viewer gets every message in order', async () => {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    hub: { sendsPerTurn: 4 },
    pipeline: { output: { width: 160, height: 120, fps: 1 } },
  });
  server.addSource('load', { kind: 'file', input: '/nonexistent/load.mp4', loop: false }, 'load');
  const connect = async () => {
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
    const got: any[] = [];
    ws.on('message', (d, isBinary) => {
      assert.equal(isBinary, false, 'text frames');
      got.push(JSON.parse(d.toString()));
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'subscribe', streams: ['load'] }));
    return { ws, got };
  };
  try {
    const viewers = await Promise.all(Array.from({ length: 10 }, connect));
    await waitFor('subscribed', () => viewers.every((v) => v.got.some((m) => m.type === 'hello')) && server.hub.stats.viewers === 10);
    await new Promise((r) => setTimeout(r, 200));
    const before = server.hub.stats.messages;
    let atNextTurn = -1;
    setImmediate(() => (atNextTurn = server.hub.stats.messages - before));
    for (let seq = 1; seq <= 20; seq++) server.hub.broadcast({ type: 'caption', stream: 'load', seq, ts: Date.now(), frameTs: Date.now(), text: `caption ${seq}`, latencyMs: 1 });
    // (At most: a status of the stream's failing source may be going out just then.)
    assert.ok(server.hub.stats.messages - before <= 4, `only the first slice is written in the broadcasting turn, not ${server.hub.stats.messages - before}`);
    // A viewer that connects in the middle of the burst gets its hello, then only what is broadcast after it subscribed.
    const late = await connect();
    await waitFor('subscribed late', () => server.hub.stats.viewers === 11);
    await new Promise((r) => setTimeout(r, 100));
    for (let seq = 21; seq <= 25; seq++) server.hub.broadcast({ type: 'caption', stream: 'load', seq, ts: Date.now(), frameTs: Date.now(), text: `caption ${seq}`, latencyMs: 1 });
    await waitFor('all delivered', () => viewers.every((v) => v.got.filter((m) => m.type === 'caption').length === 25) && late.got.filter((m) => m.type === 'caption').length === 5);
    assert.ok(atNextTurn >= 0 && atNextTurn < 200, `the loop ran after ${atNextTurn} of 200 writes`);
    for (const v of viewers)
      assert.deepEqual(
        v.got.filter((m) => m.type === 'caption').map((m) => m.seq),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
    assert.deepEqual(
      late.got.filter((m) => m.type !== 'status').map((m) => m.seq ?? m.type),
      ['hello', 21, 22, 23, 24, 25],
    );
    for (const v of [...viewers, late]) v.ws.close();
  } finally {
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
});
