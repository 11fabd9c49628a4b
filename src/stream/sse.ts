/**
 * Server-sent events for one stream (`GET /api/streams/:id/events`), for clients that cannot
 * use WebSocket (curl, EventSource in a page, log shippers).
 *
 * Each caption and summary is an event named by its type with `id: seq`, so a reconnecting
 * EventSource resumes by itself: its `Last-Event-ID` header (or `?since=SEQ`) replays what it
 * missed from history, then live events follow with no gap and no duplicate; `gap` and
 * `status` events carry no id. A comment line every 15 s keeps proxies from closing an idle
 * connection. A client that stops reading has at most `MAX_QUEUED` events queued for it;
 * beyond that it is sent an `error` event and the response ends.
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { EventBus } from './event-bus.js';
import type { StreamManager } from './streams.js';
import type { StreamMessage } from './events.js';

export const MAX_QUEUED = 2000;
const HEARTBEAT_MS = 15_000;

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

export function streamEvents(c: Context, streams: StreamManager, bus: EventBus, id: string, since: number | undefined): Response {
  return streamSSE(c, async (stream: SSEStreamingApi) => {
    const queue: Item[] = [];
    let overflow = false;
    let wake: (() => void) | undefined;
    const push = (i: Item) => {
      if (queue.length >= MAX_QUEUED) overflow = true;
      else queue.push(i);
      wake?.();
    };
    // Status, replay and subscription in one synchronous block: no event can fall between.
    const status = streams.status(id);
    if (status) push(item(status));
    if (since !== undefined) {
      // Half the queue at most, so a replay alone never overflows it.
      const { gap, events } = streams.replay(id, since, MAX_QUEUED / 2);
      if (gap) push({ event: 'gap', data: JSON.stringify({ type: 'gap', stream: id, ...gap }) });
      for (const m of events) push({ event: m.type, data: m.json, id: String(m.seq) });
    }
    const unsubscribe = bus.subscribe((m) => {
      if (m.stream === id) push(item(m));
    });
    const heartbeat = setInterval(() => {
      void stream.write(': ping\n\n').catch(() => {});
    }, HEARTBEAT_MS);
    stream.onAbort(() => wake?.());
    try {
      while (!stream.aborted) {
        if (overflow) {
          await stream.writeSSE({ event: 'error', data: JSON.stringify({ type: 'error', code: 'too_slow', message: `more than ${MAX_QUEUED} events queued: read faster, then reconnect with Last-Event-ID` }) });
          break;
        }
        const next = queue.shift();
        if (next) await stream.writeSSE(next);
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      clearInterval(heartbeat);
      unsubscribe();
    }
  });
}
