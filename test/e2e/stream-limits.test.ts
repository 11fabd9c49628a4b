/**
 * The limits an operator of a public server needs on streams: a cap on how many run at once
 * (per-address rate limits do not stop a client that rotates its address), rate limits that
 * count only streams really started, and /metrics that forget a removed stream and pass
 * Prometheus' own checker (promtool).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { execFile } from 'node:child_process';
import { startServer, DEFAULT_MAX_STREAMS, type RunningServer, type ServerOptions } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';
import { waitFor } from '../helpers/processes.js';

async function withServer(options: Partial<ServerOptions>, run: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer({ host: '127.0.0.1', port: 0, captioner: await acquireCaptioner(EMBEDDED_CAPTIONER), pipeline: { output: { width: 160, height: 120, fps: 5 } }, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
  }
}

/** POST /api/streams from a chosen local address (127.0.0.0/8 is all loopback on Linux). */
function create(server: RunningServer, body: unknown, from = '127.0.0.1'): Promise<{ status: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, localAddress: from, method: 'POST', path: '/api/streams', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c) => (text += c))
        .on('end', () => resolve({ status: res.statusCode!, error: text ? JSON.parse(text).error : undefined }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

test('at most maxStreams streams run, from however many addresses; removing one makes room', async () => {
  await withServer({ maxStreams: 3 }, async (server) => {
    const answers = [];
    for (let i = 1; i <= 5; i++) answers.push((await create(server, { id: `s${i}`, url: 'testsrc://smptebars' }, `127.0.0.${10 + i}`)).status);
    assert.deepEqual(answers, [201, 201, 201, 503, 503]);
    const full = await create(server, { id: 'more', url: 'testsrc://smptebars' }, '127.0.0.20');
    assert.match(full.error!, /already runs its maximum of 3 streams \(--max-streams\); remove one first/);
    assert.equal(server.streams.list().length, 3);
    assert.equal((await fetch(`${server.url}/api/streams/s1`, { method: 'DELETE' })).status, 204);
    assert.equal((await create(server, { id: 'more', url: 'testsrc://smptebars' }, '127.0.0.20')).status, 201);
  });
  assert.equal(DEFAULT_MAX_STREAMS, 64, 'without a setting');
});

test("refused creations (400, 409, 415, 503) do not use up a client's rate limit; started streams do", async () => {
  await withServer({ streamCreation: { perMinute: 1, burst: 2 }, maxStreams: 2 }, async (server) => {
    server.manager!.add('taken', 'testsrc://smptebars');
    for (let i = 0; i < 5; i++) {
      assert.equal((await create(server, { id: 'bad id!', url: 'testsrc://smptebars' })).status, 400);
      assert.equal((await create(server, { id: 'taken', url: 'testsrc://smptebars' })).status, 409);
      assert.equal((await create(server, { id: 'x', url: 'ftp://nowhere/x' })).status, 400);
    }
    const text = await fetch(`${server.url}/api/streams`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(text.status, 415);
    assert.equal((await create(server, { id: 'one', url: 'testsrc://smptebars' })).status, 201);
    for (let i = 0; i < 3; i++) assert.equal((await create(server, { id: 'two', url: 'testsrc://smptebars' })).status, 503, 'full');
    assert.equal((await fetch(`${server.url}/api/streams/one`, { method: 'DELETE' })).status, 204);
    assert.equal((await create(server, { id: 'two', url: 'testsrc://smptebars' })).status, 201);
    assert.equal((await fetch(`${server.url}/api/streams/two`, { method: 'DELETE' })).status, 204);
    const limited = await create(server, { id: 'three', url: 'testsrc://smptebars' });
    assert.equal(limited.status, 429, 'two started: the burst is used up');
    assert.match(limited.error!, /too many streams created from this address/);
  });
});

const promtool = (text: string) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile('/usr/bin/promtool', ['check', 'metrics'], (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }));
    child.stdin!.end(text);
  });

test("a removed stream's series leave /metrics, which passes promtool check metrics", async () => {
  await withServer({}, async (server) => {
    assert.equal((await create(server, { id: 'gone', url: 'testsrc://testsrc' })).status, 201);
    assert.equal((await create(server, { id: 'kept', url: 'testsrc://testsrc' })).status, 201);
    await waitFor('captions on both streams', () => server.streams.get('gone')!.lastSeq > 0 && server.streams.get('kept')!.lastSeq > 0, 60_000);
    const before = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(before, /livecap_caption_latency_seconds_count\{stream="gone"\} [1-9]/);
    assert.match(before, /livecap_stream_frames_total\{stream="gone"\} [1-9]/);
    const lint = await promtool(before);
    assert.equal(lint.code, 0, lint.output);

    assert.equal((await fetch(`${server.url}/api/streams/gone`, { method: 'DELETE' })).status, 204);
    const after = await (await fetch(`${server.url}/metrics`)).text();
    assert.doesNotMatch(after, /stream="gone"/);
    assert.match(after, /livecap_caption_latency_seconds_count\{stream="kept"\} [1-9]/);
    assert.match(after, /^nodejs_eventloop_lag_seconds \d/m, 'event loop lag stays');
    assert.match(after, /^process_resident_memory_bytes \d/m, 'memory stays');
    assert.match(after, /^nodejs_active_handles\{type="Server"\} \d/m, 'active handles, by type');
    assert.equal((await promtool(after)).code, 0);
  });
});
