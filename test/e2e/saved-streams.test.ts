/**
 * Streams added over the API outlive a restart of the real server process, and a DELETE
 * removes them for good. The history file that keeps them is readable by its owner only, and
 * a saved URL's password never shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { livecap, reap, type LivecapProcess } from '../helpers/livecap-process.js';
import { waitFor } from '../helpers/processes.js';
import { HistoryStore } from '../../src/store/history-store.js';

interface Info {
  id: string;
  url: string;
  state: string;
  lastSeq: number;
  saved?: boolean;
}

const streamsOf = async (url: string) => ((await (await fetch(`${url}/api/streams`)).json()) as { streams: Info[] }).streams;

test('a stream added over the API comes back after a restart and captions; deleted, it stays gone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-saved-'));
  const history = join(dir, 'history.db');
  const args = ['serve', '--port', '0', '--history', history, '--summarizer', 'none', '--source', 'bars=testsrc://smptebars'];
  let p: LivecapProcess | undefined;
  const restart = async () => {
    p!.child.kill('SIGTERM');
    assert.equal((await p!.exited).code, 0, p!.stderr());
    p = livecap(args);
    return p.url();
  };
  try {
    p = livecap(args);
    let url = await p.url();
    const added = await fetch(`${url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'added', url: 'testsrc://testsrc2' }) });
    assert.equal(added.status, 201, await added.clone().text());
    assert.equal(((await added.json()) as Info).saved, true);
    // A second one with a password in its URL (nothing listens there): saved, never shown.
    const secret = await fetch(`${url}/api/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'cam', url: 'rtsp://admin:hunter2@127.0.0.1:9/x' }),
    });
    assert.equal(secret.status, 201);
    assert.equal((await stat(history)).mode & 0o777, 0o600, 'the history file is readable by its owner only');
    assert.equal((await stat(`${history}-wal`)).mode & 0o777, 0o600, 'and so is its journal');

    url = await restart();
    let streams = await streamsOf(url);
    assert.deepEqual(streams.map((s) => s.id).sort(), ['added', 'bars', 'cam'], 'the added streams are back');
    assert.deepEqual(
      streams
        .filter((s) => s.saved)
        .map((s) => s.id)
        .sort(),
      ['added', 'cam'],
      'only they are marked saved',
    );
    assert.equal(streams.find((s) => s.id === 'cam')!.url, 'rtsp://admin:***@127.0.0.1:9/x');
    assert.doesNotMatch(JSON.stringify(streams), /hunter2/);
    const lastBefore = streams.find((s) => s.id === 'added')!.lastSeq;
    await waitFor(
      'the restored stream captions',
      () => {
        void streamsOf(url).then((s) => (streams = s));
        return (streams.find((s) => s.id === 'added')?.lastSeq ?? 0) > lastBefore;
      },
      60_000,
    );

    const gone = await fetch(`${url}/api/streams/added`, { method: 'DELETE' });
    assert.equal(gone.status, 204);
    url = await restart();
    assert.deepEqual((await streamsOf(url)).map((s) => s.id).sort(), ['bars', 'cam'], 'a deleted stream stays gone');
    assert.doesNotMatch(p.stdout() + p.stderr(), /hunter2/);

    // A configured stream is not saved: deleting it stops it for this run only.
    assert.equal((await fetch(`${url}/api/streams/bars`, { method: 'DELETE' })).status, 204);
    url = await restart();
    assert.deepEqual((await streamsOf(url)).map((s) => s.id).sort(), ['bars', 'cam']);
    p.child.kill('SIGTERM');
    assert.equal((await p.exited).code, 0);
  } finally {
    reap(p);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a saved stream that cannot start is logged and skipped, the server starts, and the id can be added again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-saved-'));
  const history = join(dir, 'history.db');
  const store = new HistoryStore({ path: history });
  store.saveStream({ id: 'cam', url: 'ftp://admin:hunter2@cam/x' });
  store.close();
  // As an older livecap left it: readable by everyone. The operator is told.
  await chmod(history, 0o644);
  let p: LivecapProcess | undefined;
  try {
    p = livecap(['serve', '--port', '0', '--history', history, '--summarizer', 'none', '--source', 'bars=testsrc://smptebars']);
    const url = await p.url();
    assert.deepEqual(
      (await streamsOf(url)).map((s) => s.id),
      ['bars'],
    );
    assert.match(p.stderr(), /"stream":"cam".*unsupported source scheme 'ftp:'.*"msg":"saved stream cannot start"/);
    assert.doesNotMatch(p.stderr(), /hunter2/);
    assert.match(p.stderr(), /"mode":"644".*"msg":"history store: the file can be read by other users/);
    const again = await fetch(`${url}/api/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'cam', url: 'testsrc://testsrc2' }) });
    assert.equal(again.status, 201, await again.clone().text());
    p.child.kill('SIGTERM');
    assert.equal((await p.exited).code, 0);
    const reopened = new HistoryStore({ path: history });
    assert.deepEqual(reopened.savedStreams(), [{ id: 'cam', url: 'testsrc://testsrc2' }], 'the new URL replaced the one that could not start');
    reopened.close();
  } finally {
    reap(p);
    await rm(dir, { recursive: true, force: true });
  }
});
