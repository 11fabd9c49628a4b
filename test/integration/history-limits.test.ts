/**
 * The history store at its limits: a file at its size cap (real SQLITE_FULL) still records the
 * seqs of events it cannot keep, streams saved for the next start, and files that cannot be
 * used refused at open with the file's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore } from '../../src/store/history-store.js';
import type { CaptionMessage } from '../../src/core/events.js';

const caption = (stream: string, seq: number, text = 'a red circle on the grass '.repeat(20)): CaptionMessage => ({ type: 'caption', stream, seq, ts: 1000 + seq, frameTs: seq, text, latencyMs: 5 });

test('a file at its size cap refuses events but still records their seqs, which a reopened store carries on from', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'livecap-limits-')), 'history.db');
  const store = new HistoryStore({ path, maxBytes: 100 * 1024 });
  let seq = 0;
  let error: Error | undefined;
  while (!error && seq < 10_000) {
    try {
      store.append(caption('cam', ++seq));
    } catch (err) {
      error = err as Error;
    }
  }
  assert.match(String(error?.message), /database or disk is full/);
  const kept = store.count();
  assert.equal(kept, seq - 1);
  assert.equal(store.lastSeq('cam'), seq - 1);
  // The event that did not fit: its seq alone still goes in.
  store.coverSeq('cam', seq);
  store.coverSeq('cam', seq + 1);
  assert.equal(store.lastSeq('cam'), seq + 1);
  assert.equal(store.probeWrite(), undefined, 'small writes in place still work');
  assert.throws(() => store.append(caption('cam', seq + 2)), /database or disk is full/);
  store.close();

  const again = new HistoryStore({ path, maxBytes: 100 * 1024 });
  assert.equal(again.lastSeq('cam'), seq + 1, 'a restart carries on past every recorded seq');
  assert.equal(again.count(), kept);
  assert.equal(again.since('cam', 0, 10_000).at(-1)?.seq, seq - 1);
  again.close();
  assert.ok((await stat(path)).size <= 100 * 1024, 'the cap holds');
});

test('saved streams survive a reopen until forgotten, and the file is readable by its owner only', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'livecap-limits-')), 'history.db');
  const store = new HistoryStore({ path });
  store.saveStream({ id: 'cam1', url: 'rtsp://admin:secret@10.0.0.5/1' });
  store.saveStream({ id: 'cam2', url: 'testsrc://smptebars', captioner: 'onnx:models/x' });
  store.saveStream({ id: 'cam3', url: 'testsrc://testsrc' });
  store.saveStream({ id: 'cam3', url: 'testsrc://testsrc2' });
  store.close();
  assert.equal((await stat(path)).mode & 0o777, 0o600);

  const again = new HistoryStore({ path });
  assert.deepEqual(again.savedStreams(), [
    { id: 'cam1', url: 'rtsp://admin:secret@10.0.0.5/1' },
    { id: 'cam2', url: 'testsrc://smptebars', captioner: 'onnx:models/x' },
    { id: 'cam3', url: 'testsrc://testsrc2' },
  ]);
  assert.equal(again.forgetStream('cam1'), true);
  assert.equal(again.forgetStream('cam1'), false);
  again.close();
  const third = new HistoryStore({ path });
  assert.deepEqual(
    third.savedStreams().map((s) => s.id),
    ['cam2', 'cam3'],
  );
  third.close();
});

test('a file that is not a database, or a truncated one, is refused at open with its name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-limits-'));
  const garbage = join(dir, 'garbage.db');
  await writeFile(garbage, 'not a database\n'.repeat(100));
  assert.throws(() => new HistoryStore({ path: garbage }), new RegExp(`^Error: history store ${garbage}: it is not a livecap history file, or it is damaged`));

  const cut = join(dir, 'cut.db');
  const store = new HistoryStore({ path: cut });
  for (let seq = 1; seq <= 500; seq++) store.append(caption('cam', seq));
  store.close();
  await truncate(cut, Math.floor((await stat(cut)).size / 2));
  assert.throws(() => new HistoryStore({ path: cut }), /history store .*cut\.db: it is not a livecap history file, or it is damaged .*truncated/);
});
