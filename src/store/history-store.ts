/**
 * The durable history of every stream: captions and summaries in SQLite (better-sqlite3), each
 * written before it is broadcast, with full-text search (FTS5) and retention by age and count.
 *
 * Why SQLite: one file, no server to run, transactions that survive `kill -9` (WAL journal:
 * a committed event is in the log before `append` returns; `durability: 'full'` also syncs it
 * to disk so it survives power loss), and FTS5 for search, all in a library that builds from
 * source with the usual toolchain. Appends take tens of microseconds, so they run on the
 * event loop; nothing here waits on the network.
 *
 * Search is the one read whose cost grows with history (a common word matches most of a
 * million events), so it is bounded (search.ts) and, for a history file, runs in a thread of
 * its own with a read-only connection (search-thread.ts), off the event loop. Prefixes of one to three letters have their own index, so `a` as the last
 * word being typed does not merge the lists of every word that starts with it.
 *
 *   events       one row per event: stream, seq (unique together), type, ts, text, JSON body
 *   keyframes    each caption's keyframe (JPEG bytes) by stream and seq, written in the same
 *                transaction as its event and removed with it (a trigger), so it has the same
 *                durability and retention; the event carries its URL (`keyframeUrl`), not the
 *                image, so history rows, replays and searches stay small. Files from before
 *                this kept the image inline as a data URL; they are moved out at open, once
 *   events_fts   FTS5 index over the text, kept in step by triggers
 *   stream_seq   each stream's last seq, kept even when retention has removed its events, so
 *                a stream's sequence carries on after a restart
 *   streams      streams added over the API (id, URL as given, captioner), so they come back
 *                after a restart; the URL may hold a camera password, so the file is created
 *                readable by its owner only (0600) and saved URLs are only read to start streams
 *   rules        rules added over the API (their JSON as sent), so they come back after a restart
 *   meta         a row written at every open: proof that the file is writable
 *
 * A seq is never reused. `append` records an event and its seq in one transaction. When that
 * write fails (a full disk, or the --history-max-mb cap), `coverSeq` records the seq alone: a
 * one-row update of a page that already exists, which needs no new page and so usually still
 * succeeds. Only an event whose seq is recorded one way or the other may be sent (streams.ts
 * holds back the rest), so a restart always starts past every seq a viewer saw.
 *
 * Opening checks the file before anything runs: it must be a whole database (its header's
 * size against the file's; `quick_check` too, on files up to 256 MiB, where it takes well
 * under a second) and writable (a real write), or the error names the file and what is wrong.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { log } from '../util/log.js';
import { nextTurn } from '../util/turns.js';
import { prepareSearch, searchStored, SEARCH_DEFAULTS, type SearchHit, type SearchLimits, type SearchQuery, type SearchStatements, type StoredHit } from './search.js';
import { SearchThread } from './search-thread.js';
import { keyframeUrl, type SequencedMessage } from '../core/events.js';
import { HISTORY_DEFAULTS, type HistoryStoreOptions } from './history-options.js';

export { ftsQuery, SEARCH_DEFAULTS, type SearchHit, type SearchLimits, type SearchQuery } from './search.js';

/** A stream added over the API, as saved: the URL exactly as given (it may hold a password). */
export interface SavedStream {
  id: string;
  url: string;
  captioner?: string;
  /** Its own prompt for its captioner. */
  prompt?: string;
}

const FTS_TABLE = `CREATE VIRTUAL TABLE events_fts USING fts5 (text, content = 'events', content_rowid = 'id', tokenize = 'porter unicode61', prefix = '1 2 3')`;

/** A rule added over the API, as saved: its JSON as sent (rules/rule.ts says what it holds). */
export interface SavedRule {
  id: string;
  [field: string]: unknown;
}

/** An event as the store keeps it: its JSON is what viewers are sent, byte for byte. */
export interface StoredEvent {
  seq: number;
  type: string;
  json: string;
}

/** Files larger than this skip `quick_check` at open (it reads every page: seconds on a big file). */
const QUICK_CHECK_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Why a database file is visibly incomplete (shorter than its header says), or undefined.
 * Reads the 100-byte header only; an empty file is a new database. With a journal (-wal) that
 * holds pages, the file may rightly be shorter: SQLite reads those pages from the journal.
 */
function truncation(path: string): string | undefined {
  const size = statSync(path).size;
  if (size < 100 || (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) return undefined;
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 16) !== 'SQLite format 3\0') return undefined;
  const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
  // The page count is only valid when written by the same change as the counter beside it.
  if (header.readUInt32BE(24) !== header.readUInt32BE(92)) return undefined;
  const expected = header.readUInt32BE(28) * pageSize;
  return size < expected ? `the file is ${size} bytes, its header says ${expected} (truncated?)` : undefined;
}

export class HistoryStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly bumpSeq: Database.Statement;
  private readonly writes: Record<'saveStream' | 'forgetStream' | 'saveRule' | 'forgetRule' | 'probe', Database.Statement>;
  /** Where searches run: a thread of their own for a file, this connection for a history in memory. */
  private readonly searchThread: SearchThread | undefined;
  private readonly searchSql: SearchStatements | undefined;
  /** The reads a subscribe or a page makes, prepared once. */
  private readonly reads: Record<'lastSeq' | 'keyframe' | 'firstSeq' | 'since' | 'newest' | 'between' | 'captionTimes' | 'latestKeyframe', Database.Statement>;
  private readonly insertKeyframe: Database.Statement;
  private readonly appendTx: (m: SequencedMessage, keyframe?: Uint8Array) => void;
  private readonly appendManyTx: (ms: readonly SequencedMessage[]) => void;
  private readonly options: Required<Omit<HistoryStoreOptions, 'now'>> & { now: () => number };
  private closed = false;
  /** Writes that go with every append, in its transaction (the webhook outbox). */
  private readonly appendHooks = new Set<(m: SequencedMessage) => void>();
  /** Events kept, counted once at open and then kept in step (a count(*) scan is slow on big files). */
  private events = 0;

  constructor(options: HistoryStoreOptions) {
    this.options = { ...HISTORY_DEFAULTS, now: Date.now, ...options };
    const where = `history store ${options.path}`;
    if (options.path !== ':memory:') {
      try {
        mkdirSync(dirname(options.path), { recursive: true });
      } catch (err) {
        throw new Error(`${where}: cannot create its folder (${(err as Error).message})`);
      }
      // Created readable by its owner only: saved stream URLs may hold passwords. SQLite gives
      // its -wal and -shm files the same mode.
      if (!existsSync(options.path)) {
        try {
          closeSync(openSync(options.path, 'wx', 0o600));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${where}: cannot create it (${(err as Error).message})`);
        }
      }
    }
    if (options.path !== ':memory:' && statSync(options.path).mode & 0o077) {
      // A file from before livecap made it private, or one the operator opened up.
      log.warn('history store: the file can be read by other users, and streams added over the API keep their URLs (and any password) in it; chmod 600 it', {
        path: options.path,
        mode: (statSync(options.path).mode & 0o777).toString(8),
      });
    }
    let step: 'open' | 'read' | 'write' = 'open';
    let db: Database.Database | undefined;
    try {
      // Writes run on the event loop: if another program holds the file's write lock, wait a
      // moment, not better-sqlite3's default 5 s, then fail (counted, reported as degraded).
      db = this.db = new Database(options.path, { timeout: 250 });
      step = 'read';
      // A file that is not a database, or a damaged one, fails here rather than on a later write.
      const file = options.path === ':memory:' ? undefined : statSync(options.path);
      const cut = file && truncation(options.path);
      if (cut) throw new Error(`database disk image is malformed: ${cut}`);
      const check = file && file.size > QUICK_CHECK_MAX_BYTES ? db.prepare('SELECT count(*) FROM sqlite_schema').get() && 'ok' : db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`database disk image is malformed: ${String(check)}`);
      step = 'write';
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
      if (this.options.maxBytes > 0) db.pragma(`max_page_count = ${Math.max(1, Math.floor(this.options.maxBytes / (db.pragma('page_size', { simple: true }) as number)))}`);
      db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        ts INTEGER NOT NULL,
        text TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (stream, seq)
      );
      CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
      CREATE TABLE IF NOT EXISTS stream_seq (stream TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
    `);
      this.ensureSearchIndex(options.path);
      db.exec(`
      CREATE TRIGGER IF NOT EXISTS events_fts_insert AFTER INSERT ON events BEGIN
        INSERT INTO events_fts (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER IF NOT EXISTS events_fts_delete AFTER DELETE ON events BEGIN
        INSERT INTO events_fts (events_fts, rowid, text) VALUES ('delete', old.id, old.text);
      END;
      CREATE TABLE IF NOT EXISTS keyframes (id INTEGER PRIMARY KEY, stream TEXT NOT NULL, seq INTEGER NOT NULL, jpeg BLOB NOT NULL, UNIQUE (stream, seq));
      CREATE TRIGGER IF NOT EXISTS events_keyframe_delete AFTER DELETE ON events WHEN old.type = 'caption' BEGIN
        DELETE FROM keyframes WHERE stream = old.stream AND seq = old.seq;
      END;
      CREATE TABLE IF NOT EXISTS streams (id TEXT PRIMARY KEY, url TEXT NOT NULL, captioner TEXT, prompt TEXT, added INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS rules (id TEXT PRIMARY KEY, body TEXT NOT NULL, added INTEGER NOT NULL);
    `);
      // Files from before streams had prompts gain the column (empty for the streams already saved).
      const streamColumns = (db.prepare('PRAGMA table_info(streams)').all() as { name: string }[]).map((c) => c.name);
      if (!streamColumns.includes('prompt')) db.exec('ALTER TABLE streams ADD COLUMN prompt TEXT');
      try {
        this.moveInlineKeyframes(db, options.path);
      } catch (err) {
        // A full disk, say: the captions not yet moved keep their pictures inline and are served
        // as they are; the next start carries on.
        log.warn('history store: could not move every keyframe out of the caption events; the next start tries again', { path: options.path, error: (err as Error).message });
      }
      // A read-only file (or folder) opens and reads, then fails on the first write: find out now.
      db.prepare("INSERT INTO meta (key, value) VALUES ('opened', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(this.options.now()));
    } catch (err) {
      const message = (err as Error).message;
      const why =
        /readonly|read-only|permission|access/i.test(message) || (step === 'write' && /unable to open/i.test(message))
          ? 'it is read-only (livecap needs to write its history)'
          : step === 'read' || /not a database|malformed|corrupt/i.test(message)
            ? 'it is not a livecap history file, or it is damaged (move it aside to start a new history)'
            : `cannot ${step} it`;
      try {
        db?.close();
      } catch {
        // Already unusable; the error below says why.
      }
      throw new Error(`${where}: ${why}: ${message}`);
    }
    this.insert = this.db.prepare('INSERT INTO events (stream, seq, type, ts, text, body) VALUES (?, ?, ?, ?, ?, ?)');
    this.insertKeyframe = this.db.prepare('INSERT INTO keyframes (stream, seq, jpeg) VALUES (?, ?, ?)');
    this.bumpSeq = this.db.prepare('INSERT INTO stream_seq (stream, last_seq) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)');
    this.writes = {
      saveStream: this.db.prepare(
        'INSERT INTO streams (id, url, captioner, prompt, added) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET url = excluded.url, captioner = excluded.captioner, prompt = excluded.prompt, added = excluded.added',
      ),
      forgetStream: this.db.prepare('DELETE FROM streams WHERE id = ?'),
      saveRule: this.db.prepare('INSERT INTO rules (id, body, added) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body'),
      forgetRule: this.db.prepare('DELETE FROM rules WHERE id = ?'),
      probe: this.db.prepare("UPDATE meta SET value = ? WHERE key = 'opened'"),
    };
    this.reads = {
      lastSeq: this.db.prepare('SELECT last_seq AS seq FROM stream_seq WHERE stream = ?'),
      keyframe: this.db.prepare('SELECT jpeg FROM keyframes WHERE stream = ? AND seq = ?'),
      firstSeq: this.db.prepare('SELECT min(seq) AS seq FROM events WHERE stream = ?'),
      since: this.db.prepare('SELECT seq, type, body FROM events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?'),
      newest: this.db.prepare('SELECT seq, type, body FROM events WHERE stream = ? AND seq > ? AND seq <= ? ORDER BY seq DESC LIMIT ?'),
      between: this.db.prepare('SELECT body FROM events WHERE stream = ? AND ts >= ? AND ts <= ? ORDER BY seq LIMIT ?'),
      latestKeyframe: this.db.prepare(
        "SELECT seq, json_extract(body, '$.frameTs') AS frameTs FROM events WHERE stream = ? AND type = 'caption' AND json_extract(body, '$.keyframeUrl') IS NOT NULL ORDER BY seq DESC LIMIT 1",
      ),
      // Only what subtitles need, without parsing the bodies.
      captionTimes: this.db.prepare(
        "SELECT json_extract(body, '$.frameTs') AS frameTs, text, json_extract(body, '$.outOfDomain') AS outOfDomain FROM events WHERE stream = ? AND type = 'caption' AND ts >= ? AND ts <= ? ORDER BY seq LIMIT ?",
      ),
    };
    if (options.path === ':memory:') this.searchSql = prepareSearch(this.db);
    else this.searchThread = new SearchThread(options.path);
    this.events = (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const write = (m: SequencedMessage, keyframe?: Uint8Array, live = true) => {
      // An alert repeats the text it matched: searching finds that caption, not the alert too.
      this.insert.run(m.stream, m.seq, m.type, m.ts, m.type === 'alert' ? '' : m.text, JSON.stringify(m));
      if (keyframe) this.insertKeyframe.run(m.stream, m.seq, keyframe);
      this.bumpSeq.run(m.stream, m.seq);
      if (live) for (const hook of this.appendHooks) hook(m);
    };
    this.appendTx = this.db.transaction(write);
    // An import of past events: nothing is delivered for them.
    this.appendManyTx = this.db.transaction((ms: readonly SequencedMessage[]) => ms.forEach((m) => write(m, undefined, false)));
  }

  /**
   * Writes an event, and a caption's keyframe (JPEG bytes) with it; when this returns, both
   * are committed. The event should carry the keyframe's URL (`keyframeUrl`), not the image.
   */
  append(m: SequencedMessage, keyframe?: Uint8Array): void {
    if (keyframe && m.type !== 'caption') throw new Error(`only captions have keyframes (got a ${m.type} event with one)`);
    this.appendTx(m, keyframe);
    this.events++;
  }

  /**
   * Runs `write` inside every append's transaction: what it writes (on `connection`) is committed
   * with the event or not at all, and a throw fails the append. Returns the function that stops it.
   */
  duringAppend(write: (m: SequencedMessage) => void): () => void {
    this.appendHooks.add(write);
    return () => this.appendHooks.delete(write);
  }

  /** The store's connection, for the tables kept beside the history in the same file (the webhook outbox). */
  get connection(): Database.Database {
    return this.db;
  }

  /** Whether the history lives in memory only (nothing survives a restart). */
  get inMemory(): boolean {
    return this.options.path === ':memory:';
  }

  /** The newest caption of a stream whose keyframe is kept (its seq and capture time), if any. */
  latestKeyframe(stream: string): { seq: number; frameTs: number } | undefined {
    return this.reads.latestKeyframe.get(stream) as { seq: number; frameTs: number } | undefined;
  }

  /** A caption's keyframe as JPEG bytes, while its event is kept. */
  keyframe(stream: string, seq: number): Buffer | undefined {
    return (this.reads.keyframe.get(stream, seq) as { jpeg: Buffer } | undefined)?.jpeg;
  }

  /** Writes events in one transaction (an import, a benchmark's history): all of them or none. */
  appendMany(ms: readonly SequencedMessage[]): void {
    this.appendManyTx(ms);
    this.events += ms.length;
  }

  /**
   * Records that a stream used `seq` for an event that could not be written, so that a restart
   * carries on past it. Throws when even this cannot be written: then the event must not be sent.
   */
  coverSeq(stream: string, seq: number): void {
    this.bumpSeq.run(stream, seq);
  }

  /** Saves a stream added over the API (replacing one saved with its id), so it starts again after a restart. */
  saveStream(stream: SavedStream): void {
    this.writes.saveStream.run(stream.id, stream.url, stream.captioner ?? null, stream.prompt ?? null, this.options.now());
  }

  /** Forgets a saved stream for good; false if it was not saved (it came from the command line or config). */
  forgetStream(id: string): boolean {
    return this.writes.forgetStream.run(id).changes > 0;
  }

  /** The streams added over the API, oldest first. */
  savedStreams(): SavedStream[] {
    const rows = this.db.prepare('SELECT id, url, captioner, prompt FROM streams ORDER BY added, id').all() as { id: string; url: string; captioner: string | null; prompt: string | null }[];
    return rows.map((r) => ({ id: r.id, url: r.url, ...(r.captioner === null ? {} : { captioner: r.captioner }), ...(r.prompt === null ? {} : { prompt: r.prompt }) }));
  }

  /** Saves a rule added over the API (replacing one saved with its id), so it runs again after a restart. */
  saveRule(rule: SavedRule): void {
    this.writes.saveRule.run(rule.id, JSON.stringify(rule), this.options.now());
  }

  /** Forgets a saved rule; false if none was saved under the id. */
  forgetRule(id: string): boolean {
    return this.writes.forgetRule.run(id).changes > 0;
  }

  /** The rules added over the API, oldest first, as they were sent. */
  savedRules(): SavedRule[] {
    return (this.db.prepare('SELECT body FROM rules ORDER BY added, id').all() as { body: string }[]).map((r) => JSON.parse(r.body) as SavedRule);
  }

  /** Whether a small write succeeds now (for readiness): undefined if it does, else why not. */
  probeWrite(): string | undefined {
    try {
      this.writes.probe.run(String(this.options.now()));
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** The last seq a stream used (0 for a new stream), whether or not its events are still kept. */
  lastSeq(stream: string): number {
    const row = this.reads.lastSeq.get(stream) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  /** The oldest seq still kept for a stream, if any. */
  firstSeq(stream: string): number | undefined {
    const row = this.reads.firstSeq.get(stream) as { seq: number | null };
    return row.seq ?? undefined;
  }

  /** Events after `since`, oldest first, at most `limit`. */
  since(stream: string, since: number, limit: number): SequencedMessage[] {
    return this.sinceStored(stream, since, limit).map((r) => JSON.parse(r.json) as SequencedMessage);
  }

  /** The same events as stored: each one's JSON exactly as it is sent, not parsed. */
  sinceStored(stream: string, since: number, limit: number): StoredEvent[] {
    return (this.reads.since.all(stream, since, limit) as { seq: number; type: string; body: string }[]).map((r) => ({ seq: r.seq, type: r.type, json: r.body }));
  }

  /** Stored events with `after` < seq ≤ `upTo`, newest first, at most `limit` (a replay reads back from the newest). */
  newestStored(stream: string, after: number, upTo: number, limit: number): StoredEvent[] {
    return (this.reads.newest.all(stream, after, upTo, limit) as { seq: number; type: string; body: string }[]).map((r) => ({ seq: r.seq, type: r.type, json: r.body }));
  }

  /** Events of a stream whose time lies in [from, to] (epoch ms), oldest first. */
  between(stream: string, from: number, to: number, limit: number): SequencedMessage[] {
    const rows = this.reads.between.all(stream, from, to, limit) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as SequencedMessage);
  }

  /** The frame time and text of a stream's captions made in [from, to], oldest first, and whether each was out of domain. */
  captionTimes(stream: string, from: number, to: number, limit: number): { frameTs: number; text: string; outOfDomain: boolean }[] {
    const rows = this.reads.captionTimes.all(stream, from, to, limit) as { frameTs: number; text: string; outOfDomain: number | null }[];
    return rows.map((r) => ({ frameTs: r.frameTs, text: r.text, outOfDomain: r.outOfDomain === 1 }));
  }

  /**
   * Captions and summaries containing every word of the query, best match first among the
   * newest `limits.candidates` matches (in the stream and time range asked for): for a history
   * file in the search thread, for one in memory here, a step per turn of the event loop.
   */
  async search(query: SearchQuery, limits: SearchLimits = SEARCH_DEFAULTS): Promise<SearchHit[]> {
    if (this.closed) return [];
    let hits: StoredHit[];
    if (this.searchThread) hits = await this.searchThread.search(query, limits);
    else {
      // Even the first step waits its turn: requests that arrive together do not run back to back.
      await nextTurn();
      if (this.closed) return [];
      hits = await searchStored(this.searchSql!, query, limits, nextTurn, () => this.closed);
    }
    return hits.map((h) => ({ event: JSON.parse(h.body) as SequencedMessage, snippet: h.snippet }));
  }

  /**
   * Files written before keyframes had a table of their own kept each one inside its caption's
   * JSON as a data URL (about 5 KB a caption, sent with every replay). Moves them to the
   * keyframes table and leaves the URL in the event, a batch per transaction (a stop halfway
   * loses nothing: the next open carries on). The file grows by the keyframes' bytes at first
   * (about 40%); the space the old bodies held is reused by new events as retention removes
   * the old ones.
   */
  private moveInlineKeyframes(db: Database.Database, path: string): void {
    // Checked once per file: the search for inline pictures reads every caption.
    if (db.prepare("SELECT 1 FROM meta WHERE key = 'keyframes-beside'").get()) return;
    const batch = db.prepare("SELECT id, stream, seq, body FROM events WHERE type = 'caption' AND id > ? AND json_extract(body, '$.keyframe') IS NOT NULL ORDER BY id LIMIT 500");
    const rewrite = db.prepare('UPDATE events SET body = ? WHERE id = ?');
    const keep = db.prepare('INSERT OR REPLACE INTO keyframes (stream, seq, jpeg) VALUES (?, ?, ?)');
    let after = 0;
    let moved = 0;
    const started = Date.now();
    for (;;) {
      const rows = batch.all(after) as { id: number; stream: string; seq: number; body: string }[];
      if (rows.length === 0) break;
      if (moved === 0) log.info('history store: moving keyframes out of the caption events (once)', { path });
      db.transaction(() => {
        for (const row of rows) {
          const { keyframe, ...event } = JSON.parse(row.body) as Record<string, unknown> & { keyframe?: unknown };
          const comma = typeof keyframe === 'string' && keyframe.startsWith('data:image/jpeg;base64,') ? keyframe.indexOf(',') : -1;
          if (comma >= 0) {
            keep.run(row.stream, row.seq, Buffer.from((keyframe as string).slice(comma + 1), 'base64'));
            event.keyframeUrl = keyframeUrl(row.stream, row.seq);
          }
          rewrite.run(JSON.stringify(event), row.id);
        }
      })();
      moved += rows.length;
      after = rows[rows.length - 1]!.id;
    }
    if (moved) log.info('history store: keyframes moved', { path, captions: moved, ms: Date.now() - started });
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('keyframes-beside', '1')").run();
  }

  /**
   * Creates the full-text index, or rebuilds one made before it had prefix indexes (once,
   * when an older history file is opened).
   */
  private ensureSearchIndex(path: string): void {
    const existing = this.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'events_fts'").get() as { sql: string } | undefined;
    if (existing?.sql.includes('prefix')) return;
    if (!existing) {
      this.db.exec(FTS_TABLE);
      return;
    }
    // A few seconds per million events, before the server listens.
    log.info('history store: rebuilding the search index with prefix indexes (once)', { path });
    const started = Date.now();
    this.db.transaction(() => {
      this.db.exec('DROP TABLE events_fts');
      this.db.exec(FTS_TABLE);
      this.db.exec("INSERT INTO events_fts (events_fts) VALUES ('rebuild')");
    })();
    log.info('history store: search index rebuilt', { path, ms: Date.now() - started });
  }

  /** Removes events past the retention limits; returns how many went. */
  prune(): number {
    const cutoff = this.options.now() - this.options.maxAgeMs;
    let removed = this.db.prepare('DELETE FROM events WHERE ts < ?').run(cutoff).changes;
    this.events -= removed;
    if (this.events > this.options.maxEvents) {
      const over = this.db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY ts, id LIMIT ?)').run(this.events - this.options.maxEvents).changes;
      this.events -= over;
      removed += over;
    }
    return removed;
  }

  /** How many events are kept. */
  count(): number {
    return this.events;
  }

  /**
   * Checkpoints the journal into the database file and closes it. Safe to call twice. On a full
   * disk the checkpoint can fail; the journal still holds every committed event and SQLite
   * replays it at the next open, so the store closes anyway and says so.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // An idle reader does not hold the journal; a search still running gets no hits.
    void this.searchThread?.close();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      log.warn('history store: cannot checkpoint the journal on close; it is kept and replayed at the next start', { path: this.options.path, error: (err as Error).message });
    }
    this.db.close();
  }
}
