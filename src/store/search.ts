/**
 * Full-text search over the history: which events match, which of them are considered, and
 * how they are ranked. One algorithm, run where the history lives: in a worker thread with
 * its own read-only connection for a history file (see search-thread.ts), or on the event loop,
 * a step per turn, for an in-memory history that no other connection can open.
 *
 * Why bounded this way: a word like `a` matches nearly every event, and FTS5 walks a term's
 * whole list of rows to rank or to find few matches (about 60 ms for a term in a million
 * events, whatever the row range asked for), so a search considers only the newest
 * `candidates` matches in the range asked for, reads them in steps and stops at a deadline.
 */
import type Database from 'better-sqlite3';
import type { SequencedMessage } from '../core/events.js';

export interface SearchLimits {
  /** Matches considered (the newest in the range); the best of these are returned. */
  candidates: number;
  /** Rowids looked at per step before yielding to the event loop. */
  windowRows: number;
  /** Matches read per step at most. */
  stepRows: number;
  /** A search stops looking for more candidates after this long, and ranks what it has. */
  deadlineMs: number;
}

export const SEARCH_DEFAULTS: SearchLimits = { candidates: 2000, windowRows: 5000, stepRows: 200, deadlineMs: 2000 };

/**
 * Okapi BM25 over the candidates of one search (k1 = 1.2, b = 0.75): how often the query's
 * words occur in an event's text against its length. Every candidate holds every word, so
 * the words' rarity, which would weigh them equally across candidates, is left out.
 */
function rankCandidates(found: { marked: string; ts: number }[]): { score: number; ts: number; i: number }[] {
  const lengths = found.map((c) => c.marked.match(/[\p{L}\p{N}]+/gu)?.length ?? 1);
  const average = lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length);
  return found.map((c, i) => {
    const tf = c.marked.split('\x01').length - 1;
    return { score: (tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * lengths[i]!) / average)), ts: c.ts, i };
  });
}

export interface SearchQuery {
  q: string;
  stream?: string;
  /** Epoch milliseconds, inclusive. */
  from?: number;
  to?: number;
  limit?: number;
}

export interface SearchHit {
  event: SequencedMessage;
  /** The matching text with matched words in [brackets]. */
  snippet: string;
}

/** Words of a user's query as an FTS5 query that matches all of them (prefixes for the last). */
export function ftsQuery(q: string): string | undefined {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu);
  if (!words?.length) return undefined;
  const terms = words.slice(0, 16).map((w) => `"${w}"`);
  // The last word may still be being typed: match it as a prefix.
  terms[terms.length - 1] += '*';
  return terms.join(' ');
}

/** A search's statements, prepared once per connection. */
export interface SearchStatements {
  idAtOrBefore: Database.Statement;
  idAtOrAfter: Database.Statement;
  maxId: Database.Statement;
  streamKnown: Database.Statement;
  candidates: Database.Statement;
  hit: Database.Statement;
}

export function prepareSearch(db: Database.Database): SearchStatements {
  return {
    idAtOrBefore: db.prepare('SELECT id FROM events WHERE ts <= ? ORDER BY ts DESC, id DESC LIMIT 1'),
    idAtOrAfter: db.prepare('SELECT id FROM events WHERE ts >= ? ORDER BY ts, id LIMIT 1'),
    maxId: db.prepare('SELECT max(id) AS id FROM events'),
    streamKnown: db.prepare('SELECT 1 AS known FROM events WHERE stream = ? LIMIT 1'),
    candidates: db.prepare(
      `SELECT f.rowid AS id, e.ts AS ts, highlight(events_fts, 0, char(1), char(2)) AS marked
       FROM events_fts f JOIN events e ON e.id = f.rowid
       WHERE events_fts MATCH ? AND f.rowid >= ? AND f.rowid <= ? AND (? IS NULL OR e.stream = ?) AND e.ts >= ? AND e.ts <= ?
       ORDER BY f.rowid DESC LIMIT ?`,
    ),
    // One by one: FTS5 seeks straight to a rowid, where a list of them would scan the match.
    hit: db.prepare(
      `SELECT e.body AS body, snippet(events_fts, 0, '[', ']', '…', 12) AS snippet
       FROM events_fts f JOIN events e ON e.id = f.rowid
       WHERE events_fts MATCH ? AND f.rowid = ?`,
    ),
  };
}

/** A hit as stored: the event's JSON and its snippet. */
export interface StoredHit {
  body: string;
  snippet: string;
}

/**
 * The best matches of a query, best first. `pause` runs between steps (a turn of the event
 * loop on the main thread); `stopped` ends the search early (the store was closed).
 */
export async function searchStored(sql: SearchStatements, query: SearchQuery, limits: SearchLimits, pause: () => Promise<void>, stopped: () => boolean = () => false): Promise<StoredHit[]> {
  const match = ftsQuery(query.q);
  if (!match) return [];
  const stream = query.stream ?? null;
  // A stream with no events matches nothing: finding that out by search would walk every match.
  if (stream !== null && !sql.streamKnown.get(stream)) return [];
  const from = query.from ?? 0;
  const to = query.to ?? Number.MAX_SAFE_INTEGER;
  // Events are stored as they are made, so their ids follow their times: the range in ids.
  const id = (row: unknown) => (row as { id: number | null } | undefined)?.id ?? undefined;
  let hi = query.to !== undefined ? id(sql.idAtOrBefore.get(to)) : id(sql.maxId.get());
  const lo = query.from !== undefined ? id(sql.idAtOrAfter.get(from)) : 1;
  if (hi === undefined || lo === undefined) return [];
  const found: { id: number; ts: number; marked: string }[] = [];
  const deadline = Date.now() + limits.deadlineMs;
  while (hi >= lo && found.length < limits.candidates) {
    const step = Math.min(limits.stepRows, limits.candidates - found.length);
    const rows = sql.candidates.all(match, Math.max(lo, hi - limits.windowRows + 1), hi, stream, stream, from, to, step) as { id: number; ts: number; marked: string }[];
    found.push(...rows);
    // A full step may have stopped inside the window: carry on below its last match.
    hi = rows.length === step ? rows[rows.length - 1]!.id - 1 : hi - limits.windowRows;
    if (hi < lo || found.length >= limits.candidates || Date.now() > deadline) break;
    await pause();
    if (stopped()) return [];
  }
  const ranked = rankCandidates(found).sort((a, b) => b.score - a.score || b.ts - a.ts);
  const best = ranked.slice(0, Math.min(query.limit ?? 50, 500)).map((r) => found[r.i]!);
  // Retention may have removed a candidate meanwhile.
  return best.flatMap((c) => (sql.hit.get(match, c.id) as StoredHit | undefined) ?? []);
}
