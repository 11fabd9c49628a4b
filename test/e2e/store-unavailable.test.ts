/**
 * While the history file cannot be written (here: another program holds its write lock, as a
 * backup tool or a `sqlite3` shell left in a transaction would), the server says so instead of
 * pretending: /readyz answers 503 naming the cause, adding a stream (or a rule) answers 503 and
 * starts nothing, and removing a saved stream (or rule) answers 503 and leaves it running, so that what the
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
    server.rules.create({ id: 'kept', match: 'person' });
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

    // Rules too: one that cannot be saved does not run; one that cannot be forgotten stays.
    const rule = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const [method, path] of [
      ['POST', '/api/rules'],
      ['PUT', '/api/rules/new'],
    ] as const) {
      const refused = await rule(method, path, { id: 'new', match: 'person' });
      assert.equal(refused.status, 503, `${method} ${path}`);
      assert.match(((await refused.json()) as { error: string }).error, /was not saved: the history store cannot write it/);
      assert.equal((await rule('GET', '/api/rules/new')).status, 404, 'not running either');
    }
    assert.equal(server.rules.get('kept')?.match, 'person', 'saved before the lock');
    const kept = await rule('DELETE', '/api/rules/kept');
    assert.equal(kept.status, 503);
    assert.equal(server.rules.get('kept')?.source, 'api', 'still runs');
    const replaced = await rule('PUT', '/api/rules/kept', { id: 'kept', match: 'dog' });
    assert.equal(replaced.status, 503);
    assert.equal(server.rules.get('kept')?.match, 'person', 'the rule as saved runs on');

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
