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
  /**
   * The most events and bytes sent from history per minute to one client address, over all
   * its WebSocket and SSE connections: closing and opening connections does not refill it.
   */
  addressEvents: number;
  addressBytes: number;
  /** Rows read from the history store before yielding to the event loop. */
  chunkRows: number;
}

export const REPLAY_DEFAULTS: ReplayLimits = {
  maxEvents: 10_000,
  maxBytes: 512 * 1024,
  connectionEvents: 20_000,
  connectionBytes: 4 * 1024 * 1024,
  addressEvents: 80_000,
  addressBytes: 16 * 1024 * 1024,
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
 * An allowance of replayed events and bytes (a connection's, or a client address's): a bucket
 * holding a minute's worth, refilled continuously.
 */
export class ReplayBudget {
  private events: number;
  private bytes: number;
  private at: number;

  constructor(
    private readonly perMinute: { events: number; bytes: number },
    private readonly now: () => number = Date.now,
  ) {
    this.events = perMinute.events;
    this.bytes = perMinute.bytes;
    this.at = now();
  }

  /** What may be replayed now. */
  available(): { events: number; bytes: number } {
    const t = this.now();
    const share = Math.max(0, t - this.at) / 60_000;
    this.events = Math.min(this.perMinute.events, this.events + share * this.perMinute.events);
    this.bytes = Math.min(this.perMinute.bytes, this.bytes + share * this.perMinute.bytes);
    this.at = t;
    return { events: Math.floor(this.events), bytes: Math.floor(this.bytes) };
  }

  spend(events: number, bytes: number): void {
    this.events -= events;
    this.bytes -= bytes;
  }

  /** Whether it holds a whole minute's worth again (nothing to remember). */
  full(): boolean {
    const { events, bytes } = this.available();
    return events >= this.perMinute.events && bytes >= this.perMinute.bytes;
  }
}

/** What several budgets allow together (the least of each), and spending from all of them. */
export function allowance(budgets: readonly ReplayBudget[]): { events: number; bytes: number } {
  return budgets.map((b) => b.available()).reduce((a, b) => ({ events: Math.min(a.events, b.events), bytes: Math.min(a.bytes, b.bytes) }), { events: Infinity, bytes: Infinity });
}

export function spend(budgets: readonly ReplayBudget[], events: number, bytes: number): void {
  for (const b of budgets) b.spend(events, bytes);
}

/**
 * The replay budget of each client address, shared by its WebSocket and SSE connections. A
 * budget outlives the connections that spent it until it has refilled, so a client that
 * reconnects in a loop gets no more than one that stays.
 */
export class AddressBudgets {
  private readonly budgets = new Map<string, ReplayBudget>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly limits: Pick<ReplayLimits, 'addressEvents' | 'addressBytes'>,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  of(address: string): ReplayBudget {
    let budget = this.budgets.get(address);
    if (!budget) this.budgets.set(address, (budget = new ReplayBudget({ events: this.limits.addressEvents, bytes: this.limits.addressBytes }, this.now)));
    return budget;
  }

  /** Forgets the budgets that have refilled. */
  sweep(): void {
    for (const [address, budget] of this.budgets) if (budget.full()) this.budgets.delete(address);
  }

  get size(): number {
    return this.budgets.size;
  }

  close(): void {
    clearInterval(this.sweeper);
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
