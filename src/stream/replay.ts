/**
 * Replay: what a subscriber that asks for the events after `since` is sent from history, for
 * the WebSocket hub and for server-sent events alike.
 *
 * Why it is its own module: a replay is the one request whose cost a client chooses (how far
 * back, how often, how many streams at once). So it is bounded twice, and never reads history
 * in one synchronous block:
 *
 * - one replay sends at most `maxEvents` events and `maxBytes` of JSON (the newest that fit,
 *   after a `gap` naming the rest, which the client can page through with the history API);
 * - one connection is sent at most `connectionEvents` and `connectionBytes` from history a
 *   minute across all its subscribes (a token bucket); past that, replays are refused (answered
 *   with a `gap`) and counted;
 * - history is read newest first in chunks of up to `chunkRows` rows (growing from a few, so a
 *   replay the budget stops early reads little), each in its own turn of the event loop, and
 *   reading stops as soon as the budget is spent, so the rows read are about the rows sent.
 *
 * Because a replay yields, live events can arrive while it runs. `startReplay` notes the
 * stream's last stored seq (`upTo`) synchronously: a caller registers its live listener in
 * the same turn, holds what arrives until the replay is sent, then releases the held events
 * with seq > `upTo` (see `Held`). That keeps the contract: status, gap, every stored event
 * after `since`, live events, with no gap and no duplicate.
 */
import type { StoredEvent } from '../store/history-store.js';
import { nextTurn } from '../util/turns.js';

export interface ReplayLimits {
  /** The most events one replay sends (one stream of a subscribe, or one SSE request). */
  maxEvents: number;
  /** The most bytes of event JSON one replay sends. */
  maxBytes: number;
  /** The most events one connection is sent from history per minute, over all its replays. */
  connectionEvents: number;
  /** The most bytes one connection is sent from history per minute, over all its replays. */
  connectionBytes: number;
  /** Rows read from the history store before yielding to the event loop. */
  chunkRows: number;
}

export const REPLAY_DEFAULTS: ReplayLimits = {
  maxEvents: 10_000,
  maxBytes: 512 * 1024,
  connectionEvents: 20_000,
  connectionBytes: 4 * 1024 * 1024,
  chunkRows: 64,
};

/** The first read of a replay asks for this many rows, then twice as many each time up to `chunkRows`: a replay refused after one row has not read a whole chunk. */
const FIRST_READ_ROWS = 8;

/** What a subscriber asking for events after `since` gets: a gap first if not every event is sent. */
export interface Replay {
  gap?: { from: number; to: number };
  /** Stored events, oldest first, their JSON ready to send. */
  events: StoredEvent[];
  /** True when the connection's budget, not history or the per-replay cap, cut the replay short. */
  refused?: boolean;
}

/** The reads a replay makes; the history store provides them. */
export interface ReplayHistory {
  lastSeq(stream: string): number;
  firstSeq(stream: string): number | undefined;
  /** Events with `after` < seq ≤ `upTo`, newest first, at most `limit`. */
  newestStored(stream: string, after: number, upTo: number, limit: number): StoredEvent[];
}

export interface PendingReplay {
  /** The stream's last stored seq when the replay started: live events after it are new. */
  upTo: number;
  done: Promise<Replay>;
}

/**
 * A connection's allowance of replayed events and bytes: a bucket holding a minute's worth,
 * refilled continuously.
 */
export class ReplayBudget {
  private events: number;
  private bytes: number;
  private at: number;

  constructor(private readonly limits: Pick<ReplayLimits, 'connectionEvents' | 'connectionBytes'>, private readonly now: () => number = Date.now) {
    this.events = limits.connectionEvents;
    this.bytes = limits.connectionBytes;
    this.at = now();
  }

  /** What may be replayed now. */
  available(): { events: number; bytes: number } {
    const t = this.now();
    const share = Math.max(0, t - this.at) / 60_000;
    this.events = Math.min(this.limits.connectionEvents, this.events + share * this.limits.connectionEvents);
    this.bytes = Math.min(this.limits.connectionBytes, this.bytes + share * this.limits.connectionBytes);
    this.at = t;
    return { events: Math.floor(this.events), bytes: Math.floor(this.bytes) };
  }

  spend(events: number, bytes: number): void {
    this.events -= events;
    this.bytes -= bytes;
  }
}


/**
 * Starts reading the events after `since`: the newest that fit `limits` (per replay) and
 * `allowance` (what the connection has left), newest first in chunks that yield between them.
 * `upTo` is read now, synchronously; `stop()` returning true ends the reading early (the
 * subscriber left) with what was read so far.
 */
export function startReplay(
  history: ReplayHistory,
  stream: string,
  since: number,
  limits: Pick<ReplayLimits, 'maxEvents' | 'maxBytes' | 'chunkRows'>,
  allowance: { events: number; bytes: number } = { events: Infinity, bytes: Infinity },
  stop: () => boolean = () => false,
): PendingReplay {
  const upTo = history.lastSeq(stream);
  return { upTo, done: nextTurn().then(() => (stop() ? { events: [] } : readReplay(history, stream, since, upTo, limits, allowance, stop))) };
}

async function readReplay(
  history: ReplayHistory,
  stream: string,
  since: number,
  upTo: number,
  limits: Pick<ReplayLimits, 'maxEvents' | 'maxBytes' | 'chunkRows'>,
  allowance: { events: number; bytes: number },
  stop: () => boolean,
): Promise<Replay> {
  if (since >= upTo) return { events: [] };
  // Below `floor` history has nothing (retention removed it, or the subscriber has it).
  const floor = Math.max(since, (history.firstSeq(stream) ?? upTo + 1) - 1);
  const maxEvents = Math.min(limits.maxEvents, allowance.events);
  const maxBytes = Math.min(limits.maxBytes, allowance.bytes);
  const newestFirst: StoredEvent[] = [];
  let bytes = 0;
  let cursor = upTo;
  // Set when a limit stopped the reading; `refused` when it was the connection's allowance.
  let cut = maxEvents <= 0 || maxBytes <= 0;
  let refused = cut && (allowance.events < limits.maxEvents || allowance.bytes < limits.maxBytes);
  let rowsToRead = FIRST_READ_ROWS;
  for (let first = true; cursor > floor && !cut; first = false) {
    // Each read in a turn of its own (the first one's turn is the caller's `nextTurn`).
    if (!first) {
      await nextTurn();
      if (stop()) break;
    }
    const rows = history.newestStored(stream, floor, cursor, Math.min(rowsToRead, limits.chunkRows, maxEvents - newestFirst.length + 1));
    rowsToRead *= 2;
    if (rows.length === 0) break;
    for (const row of rows) {
      const overEvents = newestFirst.length >= maxEvents;
      const overBytes = bytes + row.json.length > maxBytes;
      if (overEvents || overBytes) {
        cut = true;
        refused = (overEvents && allowance.events < limits.maxEvents) || (overBytes && allowance.bytes < limits.maxBytes);
        break;
      }
      newestFirst.push(row);
      bytes += row.json.length;
    }
    cursor = rows[rows.length - 1]!.seq - 1;
  }
  const events = newestFirst.reverse();
  // Everything after `since` not sent is announced: the gap ends just before the oldest event sent.
  const to = cut ? (events[0]?.seq ?? upTo + 1) - 1 : floor;
  return { gap: to > since ? { from: since + 1, to } : undefined, events, ...(refused ? { refused } : {}) };
}

/**
 * Live events that arrive for a subscriber while its replay is being read, released after it:
 * those with seq ≤ the replay's `upTo` are already in the replay and are left out.
 */
export class Held<T = string> {
  private readonly items: { seq?: number; item: T }[] = [];
  /** The size of what is held, as the caller measures it. */
  bytes = 0;

  hold(seq: number | undefined, item: T, bytes: number): void {
    this.items.push({ seq, item });
    this.bytes += bytes;
  }

  /** What to send after a replay that ended at `upTo`, in the order it arrived. */
  release(upTo: number): T[] {
    return this.items.filter((i) => i.seq === undefined || i.seq > upTo).map((i) => i.item);
  }
}
