/**
 * Server-sent events for one stream (`GET /api/streams/:id/events`), for clients that cannot
 * use WebSocket (curl, EventSource in a page, log shippers).
 *
 * Each caption and summary is an event named by its type with `id: seq`, so a reconnecting
 * EventSource resumes by itself: its `Last-Event-ID` header (or `?since=SEQ`) replays what it
 * missed from history, then live events follow with no gap and no duplicate; `gap` and
 * `status` events carry no id. A comment line every 15 s keeps proxies from closing an idle
 * connection.
 *
 * SSE shares the WebSocket's budgets: a replay is read in chunks that yield (replay.ts), at
 * most the newest `MAX_QUEUED / 2` events and half of `maxQueuedBytes`; a client that stops
 * reading has at most `MAX_QUEUED` events or `maxQueuedBytes` queued for it, beyond which it
 * is sent an `error` event and the response ends. At most `maxClients` responses are open at
 * once; the next gets 503 with Retry-After.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { EventBus } from './event-bus.js';
import type { StreamDirectory } from './directory.js';
import { AddressBudgets, Held, REPLAY_DEFAULTS, type ReplayLimits } from './replay.js';
import type { StreamMessage } from '../core/events.js';

export const MAX_QUEUED = 2000;
const HEARTBEAT_MS = 15_000;

export interface SseOptions {
  /** Open SSE responses at most; more get 503. */
  maxClients: number;
  /** Bytes of events queued for one client at most (as the WebSocket's queue limit). */
  maxQueuedBytes: number;
}

export const SSE_DEFAULTS: SseOptions = { maxClients: 1000, maxQueuedBytes: 1024 * 1024 };

interface Item {
  event: string;
  data: string;
  id?: string;
}

// Each live event is serialised once however many SSE responses carry it.
const serialised = new WeakMap<StreamMessage, string>();
function item(m: StreamMessage): Item {
  let data = serialised.get(m);
  if (data === undefined) serialised.set(m, (data = JSON.stringify(m)));
  return { event: m.type, data, id: 'seq' in m ? String(m.seq) : undefined };
}

export class SseChannel {
  private readonly options: SseOptions;
  private readonly replay: ReplayLimits;
  /** Open SSE responses (they count as viewers). */
  readonly stats = { clients: 0 };

  private readonly addresses: AddressBudgets;

  constructor(
    private readonly streams: StreamDirectory,
    private readonly bus: EventBus,
    options: Partial<SseOptions> = {},
    replay: Partial<ReplayLimits> = {},
    addresses?: AddressBudgets,
  ) {
    this.options = { ...SSE_DEFAULTS, ...options };
    this.replay = { ...REPLAY_DEFAULTS, ...replay };
    this.addresses = addresses ?? new AddressBudgets(this.replay);
  }

  /** The SSE response for a stream, resuming after `since` when given; its replay counts against the client's `address`. */
  respond(c: Context, id: string, since: number | undefined, address = 'unknown'): Response {
    if (this.stats.clients >= this.options.maxClients) {
      c.header('Retry-After', '10');
      throw new HTTPException(503, { message: `too many server-sent event connections (${this.options.maxClients} open); try again later or use the WebSocket at /ws` });
    }
    this.stats.clients++;
    let counted = true;
    const release = () => {
      if (counted) this.stats.clients--;
      counted = false;
    };
    try {
      return streamSSE(c, async (stream) => {
        try {
          await this.run(stream, id, since, address);
        } finally {
          release();
        }
      });
    } catch (err) {
      release();
      throw err;
    }
  }

  private async run(stream: SSEStreamingApi, id: string, since: number | undefined, address: string): Promise<void> {
    const queue: Item[] = [];
    let queuedBytes = 0;
    let overflow = false;
    let wake: (() => void) | undefined;
    const push = (i: Item) => {
      if (queue.length >= MAX_QUEUED || queuedBytes + i.data.length > this.options.maxQueuedBytes) overflow = true;
      else {
        queue.push(i);
        queuedBytes += i.data.length;
      }
      wake?.();
    };
    // Status, the replay's starting point and the subscription in one synchronous block: what
    // arrives while the replay is read is held, then released without what the replay sent.
    const status = this.streams.status(id);
    if (status) push(item(status));
    let held: Held<Item> | undefined;
    // Live events up to this seq the client has (see hub.ts, `floors`).
    let floor: number | undefined;
    const unsubscribe = this.bus.subscribe((m) => {
      if (m.stream !== id) return;
      if (floor !== undefined && 'seq' in m) {
        if (m.seq <= floor) return;
        floor = undefined;
      }
      const i = item(m);
      if (!held) return push(i);
      held.hold('seq' in m ? m.seq : undefined, i, i.data.length);
      if (held.bytes > this.options.maxQueuedBytes) overflow = true;
    });
    const heartbeat = setInterval(() => {
      void stream.write(': ping\n\n').catch(() => {});
    }, HEARTBEAT_MS);
    stream.onAbort(() => wake?.());
    try {
      if (since !== undefined) {
        held = new Held();
        // Half the queue at most, so a replay alone never overflows it.
        const limits = { ...this.replay, maxEvents: Math.min(this.replay.maxEvents, MAX_QUEUED / 2), maxBytes: Math.min(this.replay.maxBytes, this.options.maxQueuedBytes / 2) };
        const budget = this.addresses.of(address);
        const pending = this.streams.replay(id, since, limits, budget.available(), () => stream.aborted);
        const { gap, events, refused } = await pending.done;
        budget.spend(
          events.length,
          events.reduce((n, e) => n + e.json.length, 0),
        );
        if (refused)
          push({
            event: 'error',
            data: JSON.stringify({
              type: 'error',
              code: 'replay_budget',
              message: `this address has used its replay budget (${this.replay.addressEvents} events, ${this.replay.addressBytes} bytes a minute); the events in the gap that follows can be read from GET /api/streams/${id}/captions?since=${since}`,
            }),
          });
        if (gap) push({ event: 'gap', data: JSON.stringify({ type: 'gap', stream: id, ...gap }) });
        for (const m of events) push({ event: m.type, data: m.json, id: String(m.seq) });
        // Events up to `since` the client has; up to `upTo` it was just sent.
        for (const i of held.release(Math.max(pending.upTo, since))) push(i);
        held = undefined;
        floor = since > pending.upTo ? since : undefined;
      }
      while (!stream.aborted) {
        if (overflow) {
          await stream.writeSSE({
            event: 'error',
            data: JSON.stringify({
              type: 'error',
              code: 'too_slow',
              message: `more than ${MAX_QUEUED} events or ${this.options.maxQueuedBytes} bytes queued: read faster, then reconnect with Last-Event-ID`,
            }),
          });
          break;
        }
        const next = queue.shift();
        if (next) {
          queuedBytes -= next.data.length;
          await stream.writeSSE(next);
        } else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      clearInterval(heartbeat);
      unsubscribe();
    }
  }
}
