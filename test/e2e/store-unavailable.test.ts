/**
 * While the history file cannot be written (here: another program holds its write lock, as a
 * backup tool or a `sqlite3` shell left in a transaction would), the server says so instead of
 * pretending: /readyz answers 503 naming the cause, adding a stream answers 503 and starts
 * nothing, and removing a saved stream answers 503 and leaves it running, so that what the
 * API says matches what comes back after a restart. Once the lock goes, all of it works again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startServer } from '../../src/stream/server.js';
import { acquireCaptioner, releaseCaptioner } from '../../src/models/worker/captioner-client.js';
import { EMBEDDED_CAPTIONER } from '../../src/paths.js';

const post = (url: string, body: unknown) => fetch(`${url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('a history file locked by another program: not ready, and streams are neither saved nor forgotten until it is free', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-locked-'));
  const path = join(dir, 'history.db');
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    captioner: await acquireCaptioner(EMBEDDED_CAPTIONER),
    history: { path },
    // Nothing listens on port 1: the stream only reconnects and writes no events.
    pipeline: { output: { width: 160, height: 120, fps: 5 } },
  });
  const other = new Database(path);
  try {
    assert.equal((await post(server.url, { id: 'cam', url: 'rtsp://127.0.0.1:1/cam' })).status, 201);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    other.exec('BEGIN IMMEDIATE');
    other.prepare("INSERT INTO meta (key, value) VALUES ('other', 'x') ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();

    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { ready: boolean; checks: { history: string } };
    assert.equal(body.ready, false);
    assert.match(body.checks.history, /cannot write: database is locked/);

    const added = await post(server.url, { id: 'cam2', url: 'rtsp://127.0.0.1:1/cam2' });
    assert.equal(added.status, 503);
    assert.match(((await added.json()) as { error: string }).error, /history store/);
    assert.equal(server.streams.has('cam2'), false, 'a stream that could not be saved is not started');

    const removed = await fetch(`${server.url}/api/streams/cam`, { method: 'DELETE' });
    assert.equal(removed.status, 503);
    assert.match(((await removed.json()) as { error: string }).error, /cannot forget it/);
    assert.equal(server.streams.has('cam'), true, 'a stream that could not be forgotten keeps running');

    other.exec('ROLLBACK');
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${server.url}/api/streams/cam`, { method: 'DELETE' })).status, 204);
    assert.equal((await post(server.url, { id: 'cam2', url: 'rtsp://127.0.0.1:1/cam2' })).status, 201);
  } finally {
    other.close();
    await server.close();
    await releaseCaptioner(EMBEDDED_CAPTIONER);
    await rm(dir, { recursive: true, force: true });
  }
});
