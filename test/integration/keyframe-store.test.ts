/**
 * Keyframes beside the history: written with their caption in one transaction, removed with
 * it by retention, and moved out of history files that kept them inline inside each event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HistoryStore } from '../../src/store/history-store.js';
import { encodeJpeg, decodeImage } from '../../src/media/image.js';
import { renderScene } from '../../src/synth/render.js';
import { randomScene } from '../../src/synth/world.js';
import { Rng } from '../../src/util/rng.js';
import { keyframeUrl, type CaptionMessage } from '../../src/core/events.js';

const rng = new Rng(21);
const jpeg = () => encodeJpeg(renderScene(randomScene(rng), 160, 120), 80);

function caption(seq: number, ts: number, url?: string): CaptionMessage {
  return { type: 'caption', stream: 'cam', seq, ts, frameTs: ts - 50, text: `a red circle on the grass ${seq}`, latencyMs: 50, ...(url ? { keyframeUrl: url } : {}) };
}

test('a caption and its keyframe are written together and retention removes both', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-keyframes-'));
  let now = 1_000_000;
  const store = new HistoryStore({ path: join(dir, 'history.db'), maxAgeMs: 10_000, now: () => now });
  try {
    const pictures = [jpeg(), jpeg(), jpeg()];
    pictures.forEach((p, i) => store.append(caption(i + 1, now + i * 4000, keyframeUrl('cam', i + 1)), p));
    store.append({ type: 'summary', stream: 'cam', seq: 4, ts: now + 9000, from: now, to: now + 8000, text: 'shapes' });
    assert.throws(() => store.append({ type: 'summary', stream: 'cam', seq: 5, ts: now, from: now, to: now, text: 'x' }, pictures[0]), /only captions have keyframes/);
    assert.deepEqual(store.keyframe('cam', 2), pictures[1]);
    assert.equal(store.keyframe('cam', 4), undefined);
    // The event names the picture and does not hold it.
    const [first] = store.sinceStored('cam', 0, 1);
    assert.ok(first!.json.length < 300, `${first!.json.length} bytes`);
    assert.equal(JSON.parse(first!.json).keyframeUrl, '/api/streams/cam/keyframes/1.jpg');
    now += 14_500; // the first two captions are past 10 s old
    assert.equal(store.prune(), 2);
    assert.equal(store.keyframe('cam', 1), undefined);
    assert.equal(store.keyframe('cam', 2), undefined);
    assert.deepEqual(store.keyframe('cam', 3), pictures[2]);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a history file that kept keyframes inside its events has them moved out at open, once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-keyframes-'));
  const path = join(dir, 'history.db');
  // Three real pictures over 1,200 captions; every fifth caption had none (thumbnails off).
  const real = [jpeg(), jpeg(), jpeg()];
  const pictures = Array.from({ length: 1200 }, (_, i) => (i % 5 === 4 ? undefined : real[i % 3]!));
  try {
    // Written the way earlier versions wrote captions: the JPEG inline as a data URL.
    const old = new HistoryStore({ path });
    const ts = Date.now();
    old.appendMany(pictures.map((p, i) => ({ ...caption(i + 1, ts + i), ...(p ? { keyframe: `data:image/jpeg;base64,${p.toString('base64')}` } : {}) }) as CaptionMessage));
    old.append({ type: 'summary', stream: 'cam', seq: 1201, ts, from: ts, to: ts, text: 'shapes moving' });
    const before = old.sinceStored('cam', 0, 1000).reduce((n, e) => n + e.json.length, 0);
    old.close();
    // Earlier versions did not leave the mark that says keyframes are kept beside the events.
    const raw = new Database(path);
    raw.prepare("DELETE FROM meta WHERE key = 'keyframes-beside'").run();
    raw.close();

    const store = new HistoryStore({ path });
    try {
      const events = store.since('cam', 0, 2000);
      assert.equal(events.length, 1201);
      for (const e of events) assert.equal((e as unknown as Record<string, unknown>).keyframe, undefined, `seq ${e.seq} still holds its picture`);
      const captions = events.filter((e): e is CaptionMessage => e.type === 'caption');
      // Captions that had a picture name it; those that had none (thumbnails off) name none.
      assert.deepEqual(
        captions.filter((c) => c.keyframeUrl).map((c) => c.seq),
        captions.filter((c) => pictures[c.seq - 1]).map((c) => c.seq),
      );
      assert.equal(captions[0]!.keyframeUrl, keyframeUrl('cam', 1));
      for (const seq of [1, 2, 3, 999]) {
        assert.deepEqual(store.keyframe('cam', seq), pictures[seq - 1]);
        assert.equal(decodeImage(store.keyframe('cam', seq)!).width, 160);
      }
      assert.equal(store.keyframe('cam', 5), undefined);
      assert.equal(captions[4]!.text, 'a red circle on the grass 5');
      assert.equal((await store.search({ q: 'circle grass', stream: 'cam' })).length > 0, true, 'search still finds them');
      const after = store.sinceStored('cam', 0, 1000).reduce((n, e) => n + e.json.length, 0);
      assert.ok(after < before / 2, `a replay of 1,000 events: ${before} bytes before, ${after} after`);
    } finally {
      store.close();
    }
    // Opening again finds nothing left to move and changes nothing.
    const again = new HistoryStore({ path });
    try {
      assert.deepEqual(again.keyframe('cam', 2), pictures[1]);
      assert.equal(again.since('cam', 0, 1)[0]!.type, 'caption');
    } finally {
      again.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
