/**
 * The history store: events come back in order after reopening the file, sequences carry on
 * even when retention removed every event, retention by age and count, full-text search with
 * filters, and replay with gaps where history no longer reaches back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore, ftsQuery } from '../../src/store/history-store.js';
import { StreamManager } from '../../src/stream/streams.js';
import type { CaptionMessage, SummaryMessage } from '../../src/core/events.js';

const caption = (stream: string, seq: number, ts: number, text: string): CaptionMessage => ({ type: 'caption', stream, seq, ts, frameTs: ts - 5, text, latencyMs: 5 });
const summary = (stream: string, seq: number, ts: number, text: string): SummaryMessage => ({ type: 'summary', stream, seq, ts, from: ts - 20_000, to: ts, text });

test('events survive closing and reopening the file, and each stream keeps its own sequence', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'livecap-history-')), 'nested', 'history.db');
  const store = new HistoryStore({ path });
  store.append(caption('a', 1, 1000, 'a red circle on the grass'));
  store.append(caption('b', 1, 1100, 'a blue star in the sky'));
  store.append(summary('a', 2, 1200, 'the video shows a red circle on the grass'));
  assert.throws(() => store.append(caption('a', 2, 1300, 'again')), /UNIQUE/, 'a seq is never written twice');
  store.close();
  store.close();

  const again = new HistoryStore({ path });
  assert.equal(again.lastSeq('a'), 2);
  assert.equal(again.lastSeq('b'), 1);
  assert.equal(again.lastSeq('never'), 0);
  assert.deepEqual(
    again.since('a', 0, 10).map((m) => [m.seq, m.type, m.text]),
    [
      [1, 'caption', 'a red circle on the grass'],
      [2, 'summary', 'the video shows a red circle on the grass'],
    ],
  );
  assert.deepEqual(again.since('a', 1, 10)[0], summary('a', 2, 1200, 'the video shows a red circle on the grass'));
  assert.deepEqual(
    again.between('a', 1100, 1250, 10).map((m) => m.seq),
    [2],
  );
  again.close();
});

test('retention removes old events by age and by count, and sequences still carry on', () => {
  let now = 100_000;
  const store = new HistoryStore({ path: ':memory:', maxAgeMs: 10_000, maxEvents: 3, now: () => now });
  for (let seq = 1; seq <= 5; seq++) store.append(caption('a', seq, 90_000 + seq * 1000, `caption ${seq}`));
  assert.equal(store.prune(), 2, 'two over the count');
  assert.deepEqual(
    store.since('a', 0, 10).map((m) => m.seq),
    [3, 4, 5],
  );
  assert.equal(store.firstSeq('a'), 3);
  now = 200_000;
  assert.equal(store.prune(), 3, 'all too old now');
  assert.equal(store.count(), 0);
  assert.equal(store.firstSeq('a'), undefined);
  assert.equal(store.lastSeq('a'), 5, 'the sequence is remembered without its events');
  store.close();
});

test('search finds captions and summaries by their words, with stream and time filters', async () => {
  const store = new HistoryStore({ path: ':memory:' });
  store.append(caption('cam1', 1, 1000, 'a red circle on the grass'));
  store.append(caption('cam1', 2, 2000, 'two blue circles in the sky'));
  store.append(caption('cam2', 1, 3000, 'a yellow star at night'));
  store.append(summary('cam2', 2, 4000, 'the video shows a red star then two blue circles'));
  const texts = async (q: Parameters<HistoryStore['search']>[0]) => (await store.search(q)).map((h) => `${h.event.stream}/${h.event.seq}`).sort();
  assert.deepEqual(await texts({ q: 'circle' }), ['cam1/1', 'cam1/2', 'cam2/2'], 'stems: circle finds circles');
  assert.deepEqual(await texts({ q: 'red circle' }), ['cam1/1', 'cam2/2'], 'every word must match');
  assert.deepEqual(await texts({ q: 'circ' }), ['cam1/1', 'cam1/2', 'cam2/2'], 'the last word is a prefix');
  assert.deepEqual(await texts({ q: 'circle', stream: 'cam1', from: 1500 }), ['cam1/2']);
  assert.deepEqual(await texts({ q: 'star', to: 3500 }), ['cam2/1']);
  assert.deepEqual(await texts({ q: '"); DROP TABLE events; --' }), [], 'query syntax is never passed through');
  assert.equal(store.count(), 4);
  assert.equal((await store.search({ q: 'yellow' }))[0]!.snippet, 'a [yellow] star at night');
  assert.equal(ftsQuery('  '), undefined);
  assert.equal(ftsQuery('Red, CIRCLE'), '"red" "circle"*');
  store.close();
});

test('replay gives every event after since, or a gap first where history no longer reaches back', async () => {
  const store = new HistoryStore({ path: ':memory:', maxEvents: 5, now: () => 10_000 });
  for (let seq = 1; seq <= 8; seq++) store.append(caption('cam', seq, seq * 1000, `caption ${seq}`));
  store.prune();
  const streams = new StreamManager(
    { default: { caption: async () => ({ text: '', score: 0 }) }, defaultName: 'x' },
    { rules: {}, pipeline: { output: { width: 16, height: 16, fps: 1 } }, store },
    () => {},
  );
  // Two rows per chunk: the replays below read in several chunks, yielding between them.
  const replay = async (since: number, maxEvents: number, maxBytes = Infinity, stream = 'cam') => streams.replay(stream, since, { maxEvents, maxBytes, chunkRows: 2 }).done;
  const seqs = (r: Awaited<ReturnType<typeof replay>>) => [r.gap, r.events.map((m) => m.seq)];
  assert.deepEqual(seqs(await replay(5, 100)), [undefined, [6, 7, 8]]);
  assert.deepEqual(seqs(await replay(0, 100)), [{ from: 1, to: 3 }, [4, 5, 6, 7, 8]], 'events 1-3 were removed');
  assert.deepEqual(seqs(await replay(3, 100)), [undefined, [4, 5, 6, 7, 8]]);
  assert.deepEqual(seqs(await replay(4, 2)), [{ from: 5, to: 6 }, [7, 8]], 'more than the limit: the newest, after a gap');
  assert.deepEqual(seqs(await replay(8, 100)), [undefined, []]);
  const twoEvents = store.sinceStored('cam', 6, 2).reduce((n, e) => n + e.json.length, 0);
  assert.deepEqual(seqs(await replay(3, 100, twoEvents)), [{ from: 4, to: 6 }, [7, 8]], 'more bytes than the budget: the newest that fit, after a gap');
  assert.equal((await replay(6, 100)).events[0]!.json, JSON.stringify(caption('cam', 7, 7000, 'caption 7')), 'sent as stored');
  assert.deepEqual(seqs(await replay(0, 100, Infinity, 'other')), [undefined, []]);
  const spent = await streams.replay('cam', 3, { maxEvents: 100, maxBytes: Infinity, chunkRows: 2 }, { events: 3, bytes: Infinity }).done;
  assert.deepEqual(seqs(spent), [{ from: 4, to: 5 }, [6, 7, 8]], 'a connection allowance smaller than the replay cuts it, after a gap');
  assert.equal(spent.refused, true, 'and says the allowance did it');
  assert.equal((await replay(4, 2)).refused, undefined, 'the per-replay cap is not a refusal');
  await streams.close();
  store.close();
});
