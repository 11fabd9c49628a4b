/**
 * Viewers that stop reading: the hub drops each once more than 1 MiB is queued for it (close
 * 4008, counted), healthy viewers still get every event, and the server's memory does not
 * grow with what the slow ones would have been sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { CLOSE_TOO_SLOW } from '../../src/stream/hub.js';
import { waitFor } from '../helpers/processes.js';

test('slow viewers are dropped with 4008 while healthy ones get everything, in bounded memory', async () => {
  const server = await startServer({ host: '127.0.0.1', port: 0, captioner: await acquireCaptioner(EMBEDDED_CAPTIONER), pipeline: { output: { width: 160, height: 120, fps: 1 } } });
  server.addSource('load', { kind: 'file', input: '/nonexistent/load.mp4', loop: false }, 'load');
  const connect = async (read: boolean) => {
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
    const got: number[] = [];
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'subscribe', streams: ['load'] }));
    if (read)
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.type === 'caption') got.push(m.seq);
      });
    else (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    return { ws, got };
  };
  try {
    const healthy = await Promise.all([1, 2, 3].map(() => connect(true)));
    const slow = await Promise.all([1, 2, 3].map(() => connect(false)));
    await new Promise((r) => setTimeout(r, 200));
    const heapBefore = process.memoryUsage().heapUsed;
    // 64 MB per viewer in 64 KiB captions: far more than a socket and 1 MiB of queue hold.
    const padding = ' ' + 'x'.repeat(64 * 1024);
    // The slow ones, reading again as soon as they are dropped, find the close code at the end
    // of what was queued for them (after 5 s the server stops waiting and cuts them off).
    let codes: Promise<number[]> | undefined;
    const readAgain = () =>
      Promise.all(
        slow.map(
          (s) =>
            new Promise<number>((resolve) => {
              s.ws.once('close', (code) => resolve(code));
              (s.ws as unknown as { _socket: { resume(): void } })._socket.resume();
            }),
        ),
      );
    for (let seq = 1; seq <= 1000; seq++) {
      if (!codes && server.hub.stats.droppedViewers === 3) codes = readAgain();
      server.hub.broadcast({ type: 'caption', stream: 'load', seq, ts: Date.now(), frameTs: Date.now(), text: `a red circle${padding}`, latencyMs: 1 });
      // Paced to the healthy viewers (they share this process): they keep up, the slow ones never read.
      if (seq % 10 === 0) await waitFor('healthy viewers caught up', () => healthy.every((h) => h.got.length >= seq), 10_000);
    }
    await waitFor('three dropped', () => server.hub.stats.droppedViewers === 3, 20_000);
    const heapGrowth = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    assert.ok(heapGrowth < 64, `heap grew ${heapGrowth.toFixed(0)} MiB, not with the 192 MB the slow viewers were not sent`);
    for (const h of healthy)
      assert.deepEqual(
        h.got,
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
    assert.deepEqual(await codes, [CLOSE_TOO_SLOW, CLOSE_TOO_SLOW, CLOSE_TOO_SLOW]);
    assert.equal(server.hub.stats.viewers, 3);
    for (const h of healthy) h.ws.close();
  } finally {
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
});

test('a peer that stops answering pings is terminated; one that answers stays', async () => {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    hub: { heartbeatMs: 200 },
    pipeline: { output: { width: 160, height: 120, fps: 1 } },
  });
  try {
    const url = server.url.replace('http', 'ws') + '/ws';
    const silent = new WebSocket(url, { autoPong: false });
    const alive = new WebSocket(url);
    await Promise.all([silent, alive].map((ws) => new Promise((resolve) => ws.once('open', resolve))));
    const closed = await new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    assert.equal(closed, 1006, 'cut off without a closing handshake');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(alive.readyState, WebSocket.OPEN);
    assert.equal(server.hub.stats.viewers, 1);
    alive.close();
  } finally {
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
});
