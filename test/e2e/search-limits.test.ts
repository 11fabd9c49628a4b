/**
 * Search over a long history is bounded: it ranks the newest matches only (a window of
 * candidates, read in steps that yield to the event loop), a common word over 100,000 events
 * does not freeze the server, and past the cap on concurrent searches a client gets 429.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { HistoryStore } from '../../src/store/history-store.js';
import { startTestServer } from '../helpers/test-server.js';
import type { CaptionMessage } from '../../src/core/events.js';

const WORDS = ['red', 'blue', 'green', 'circle', 'square', 'star', 'large', 'small', 'grass', 'sky', 'night', 'above', 'and', 'two', 'three', 'middle'];
const caption = (stream: string, seq: number, ts: number, text: string): CaptionMessage => ({ type: 'caption', stream, seq, ts, frameTs: ts - 5, text, latencyMs: 5 });
const sentence = (i: number) => 'a ' + Array.from({ length: 8 }, (_, k) => WORDS[(i * 7 + k * 5 + (i >> 3)) % WORDS.length]).join(' ');

test('search ranks the newest matches only: a better match older than the candidate window is not looked at', async () => {
  const store = new HistoryStore({ path: ':memory:' });
  // Old events are the best matches for "circle" (short); the newest 300 are long ones.
  for (let seq = 1; seq <= 1000; seq++) store.append(caption('cam', seq, seq * 1000, seq <= 700 ? 'circle' : `${sentence(seq)} circle ${sentence(seq + 1)}`));
  const limits = { candidates: 300, windowRows: 128, stepRows: 50, deadlineMs: 60_000 };
  const hits = await store.search({ q: 'circle', limit: 20 }, limits);
  assert.equal(hits.length, 20);
  assert.ok(
    hits.every((h) => h.event.seq > 700),
    `only the newest 300 matches are ranked: ${hits.map((h) => h.event.seq)}`,
  );
  const byAll = await store.search({ q: 'circle', limit: 20 }, { ...limits, candidates: 100_000 });
  assert.ok(
    byAll.every((h) => h.event.seq <= 700),
    'with a window over everything, the short old ones rank first',
  );
  // The time range moves the window: from before seq 700's time the old ones come back.
  const older = await store.search({ q: 'circle', to: 650_000, limit: 5 }, limits);
  assert.deepEqual(
    older.map((h) => h.event.seq).sort((a, b) => a - b),
    [646, 647, 648, 649, 650],
    'best first, newest first among equals',
  );
  const between = await store.search({ q: 'circ', from: 10_000, to: 12_000 }, limits);
  assert.deepEqual(
    between.map((h) => h.event.seq).sort((a, b) => a - b),
    [10, 11, 12],
    'prefix and both ends of the range',
  );
  assert.deepEqual(await store.search({ q: 'circle', stream: 'other' }, limits), []);
  store.close();
});

test('an index made before prefix indexes is rebuilt when the file is opened, and finds the same events', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-fts-'));
  try {
    const path = join(dir, 'history.db');
    const store = new HistoryStore({ path });
    store.append(caption('cam', 1, 1000, 'a red circle on the grass'));
    store.append(caption('cam', 2, 2000, 'two blue squares'));
    store.close();
    // The index as earlier versions made it.
    const db = new Database(path);
    db.exec(
      `DROP TABLE events_fts; CREATE VIRTUAL TABLE events_fts USING fts5 (text, content = 'events', content_rowid = 'id', tokenize = 'porter unicode61'); INSERT INTO events_fts (events_fts) VALUES ('rebuild');`,
    );
    db.close();
    const again = new HistoryStore({ path });
    assert.deepEqual(
      (await again.search({ q: 'c' })).map((h) => h.event.seq),
      [1],
    );
    assert.deepEqual(
      (await again.search({ q: 'square' })).map((h) => h.event.seq),
      [2],
    );
    again.append(caption('cam', 3, 3000, 'a circle again'));
    assert.deepEqual((await again.search({ q: 'circle' })).map((h) => h.event.seq).sort(), [1, 3], 'new events are indexed');
    again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('eight concurrent searches for "a" over 100,000 events: the event loop keeps running, and those past the cap get 429', async () => {
  const ts = await startTestServer({ search: { maxConcurrent: 4 } });
  try {
    const store = ts.server.streams.store;
    const t0 = Date.now() - 200_000_000;
    for (let seq = 1; seq <= 100_000; seq++) store.append(caption(`cam${seq % 4}`, seq, t0 + seq * 1000, sentence(seq)));
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(`${ts.server.url}/api/search?q=a`)));
    delay.disable();
    const ok = answers.filter((r) => r.status === 200);
    assert.ok(ok.length >= 4, `${ok.length} answered`);
    for (const r of ok) assert.equal(((await r.json()) as { results: unknown[] }).results.length, 50);
    for (const r of answers.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match(((await r.json()) as { error: string }).error, /4 searches are running/);
    }
    const worst = delay.max / 1e6;
    // Ranking every match at once blocked the loop for 1.4 s at this size; steps take tens of ms.
    assert.ok(worst < 500, `event loop blocked at most ${worst.toFixed(0)} ms`);
  } finally {
    await ts.close();
  }
});

test('past the cap on concurrent searches a search gets 429 with Retry-After', async () => {
  const ts = await startTestServer({ search: { maxConcurrent: 1, stepRows: 10 } });
  try {
    for (let seq = 1; seq <= 200; seq++) ts.server.streams.store.append(caption('cam', seq, Date.now(), sentence(seq)));
    // The first runs until its first step yields; the second arrives while it runs.
    const first = ts.server.app.request('/api/search?q=a');
    const second = ts.server.app.request('/api/search?q=a');
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 429);
    assert.equal(b.headers.get('retry-after'), '1');
    assert.equal((await ts.server.app.request('/api/search?q=a')).status, 200, 'once it finished, the next may run');
  } finally {
    await ts.close();
  }
});

test('a history file is searched in a thread of its own: the same hits as on the event loop, which stays free meanwhile', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'livecap-search-thread-'));
  const file = new HistoryStore({ path: join(dir, 'history.db') });
  const memory = new HistoryStore({ path: ':memory:' });
  try {
    const t0 = Date.now() - 200_000_000;
    // Three old events on a stream of their own, then 60,000 on four others.
    const events = [1, 2, 3].map((seq) => caption('rare', seq, t0 + seq, `a rare ${sentence(seq)}`));
    for (let seq = 1; seq <= 60_000; seq++) events.push(caption(`cam${seq % 4}`, seq, t0 + 1000 + seq * 1000, sentence(seq)));
    file.appendMany(events);
    memory.appendMany(events);
    const queries = [
      { q: 'a' },
      { q: 'circle', stream: 'cam1' },
      { q: 'red sq', to: t0 + 30_000_000 },
      { q: 'grass', from: t0 + 50_000_000, limit: 7 },
      { q: 'a', stream: 'nope' },
      { q: 'zebra' },
      { q: 'rare' },
    ];
    for (const query of queries) {
      const seqs = async (store: HistoryStore) => (await store.search(query)).map((h) => `${h.event.stream}/${h.event.seq} ${h.snippet}`);
      assert.deepEqual(await seqs(file), await seqs(memory), `search ${JSON.stringify(query)}`);
    }
    // A filter that holds few events: many small steps over the whole history.
    const limits = { candidates: 2000, windowRows: 200, stepRows: 200, deadlineMs: 60_000 };
    const busy = async (store: HistoryStore) => {
      const before = performance.eventLoopUtilization();
      const hits = await store.search({ q: 'a', stream: 'rare' }, limits);
      return { hits: hits.length, utilization: performance.eventLoopUtilization(before).utilization };
    };
    const onLoop = await busy(memory);
    const inThread = await busy(file);
    console.log(`# event loop busy ${(onLoop.utilization * 100).toFixed(0)}% searching on it, ${(inThread.utilization * 100).toFixed(0)}% with the search in its thread`);
    assert.equal(inThread.hits, 3);
    assert.equal(onLoop.hits, 3);
    assert.ok(inThread.utilization < 0.3, `the event loop was busy ${(inThread.utilization * 100).toFixed(0)}% of a threaded search`);
  } finally {
    file.close();
    memory.close();
    await rm(dir, { recursive: true, force: true });
  }
});
