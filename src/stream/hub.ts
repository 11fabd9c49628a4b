/**
 * The WebSocket hub: viewers subscribe to streams and receive their events.
 *
 * - Each broadcast is serialised (and UTF-8 encoded) once and sent only to open sockets
 *   subscribed to its stream when it was broadcast. Sends go out `sendsPerTurn` sockets at a
 *   time, the rest on the next turns of the event loop, so a burst to thousands of viewers
 *   never blocks the loop for long; every message to one viewer (hello, status, replay, live
 *   events) still leaves in the order the hub decided to send it.
 * - A viewer whose socket has more than `maxBufferedBytes` queued is too slow: it is closed
 *   with code 4008 and counted, so it cannot hold memory or slow the others.
 * - Inbound messages over `maxPayload` close the socket with 1009 (ws enforces it); malformed
 *   JSON, unknown types and bad fields are answered with an `error` message and the
 *   connection stays open.
 * - A ping goes out every `heartbeatMs`; a peer that has not answered the previous one is
 *   terminated.
 */
import type { WebSocket } from 'ws';
import type { SequencedMessage, StatusMessage, StreamMessage } from './events.js';
import { log } from '../util/log.js';

export const CLOSE_TOO_SLOW = 4008;
export const PROTOCOL_VERSION = 1;
/** The most events one subscribe replays (and at most half the queue limit in bytes); older ones are announced as a gap. */
export const REPLAY_LIMIT = 10_000;

export interface HubOptions {
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** Socket writes per turn of the event loop; the rest wait for the next turn. */
  sendsPerTurn: number;
}

export const HUB_DEFAULTS: HubOptions = { maxBufferedBytes: 1024 * 1024, heartbeatMs: 30_000, sendsPerTurn: 256 };

/** What the hub needs to know about streams, without reaching into them. */
export interface StreamDirectory {
  ids(): string[];
  has(id: string): boolean;
  /** Events after `since` (newest `limit` at most), with a gap first when history no longer reaches back. */
  replay(id: string, since: number, limit: number, maxBytes: number): { gap?: { from: number; to: number }; events: { json: string }[] };
  status(id: string): StatusMessage | undefined;
}

interface Viewer {
  socket: WebSocket;
  streams: Set<string>;
  alive: boolean;
}

export interface HubStats {
  viewers: number;
  messages: number;
  droppedViewers: number;
}

export class Hub {
  private readonly viewers = new Set<Viewer>();
  private readonly options: HubOptions;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Messages not yet written to every viewer they are for, oldest first. */
  private readonly outbox: { data: Buffer; viewers: Viewer[]; next: number }[] = [];
  private draining: NodeJS.Immediate | undefined;
  readonly stats: HubStats = { viewers: 0, messages: 0, droppedViewers: 0 };

  constructor(private readonly directory: StreamDirectory, options: Partial<HubOptions> = {}) {
    this.options = { ...HUB_DEFAULTS, ...options };
    this.timer = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** Takes over an accepted socket. */
  accept(socket: WebSocket): void {
    if (this.closed) {
      socket.close(1001, 'server shutting down');
      return;
    }
    const viewer: Viewer = { socket, streams: new Set(), alive: true };
    this.viewers.add(viewer);
    this.stats.viewers = this.viewers.size;
    socket.on('error', (err) => log.debug('viewer socket error', { error: err.message }));
    socket.on('pong', () => (viewer.alive = true));
    socket.on('close', () => {
      this.viewers.delete(viewer);
      this.stats.viewers = this.viewers.size;
    });
    socket.on('message', (data, isBinary) => this.receive(viewer, isBinary ? null : data.toString()));
    this.send(viewer, JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, streams: this.directory.ids() }));
  }

  private fail(viewer: Viewer, code: string, message: string): void {
    this.send(viewer, JSON.stringify({ type: 'error', code, message }));
  }

  private receive(viewer: Viewer, text: string | null): void {
    if (text === null) return this.fail(viewer, 'bad_message', 'messages must be JSON text frames');
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.fail(viewer, 'bad_json', 'message is not valid JSON');
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return this.fail(viewer, 'bad_message', 'message must be a JSON object with a type');
    const { type, streams, since } = msg as { type?: unknown; streams?: unknown; since?: unknown };
    if (type !== 'subscribe' && type !== 'unsubscribe') return this.fail(viewer, 'unknown_type', `unknown message type ${JSON.stringify(type)}; expected subscribe or unsubscribe`);
    if (!Array.isArray(streams) || streams.length > 256 || !streams.every((s) => typeof s === 'string')) {
      return this.fail(viewer, 'bad_streams', 'streams must be an array of stream ids');
    }
    if (type === 'unsubscribe') {
      for (const id of streams) viewer.streams.delete(id);
      return;
    }
    if (since !== undefined && (typeof since !== 'object' || since === null || Array.isArray(since))) return this.fail(viewer, 'bad_since', 'since must be an object of stream id → seq');
    const unknown = streams.filter((id) => !this.directory.has(id));
    if (unknown.length) this.fail(viewer, 'unknown_stream', `no such stream: ${unknown.join(', ')}`);
    for (const id of streams.filter((s) => this.directory.has(s))) {
      viewer.streams.add(id);
      const status = this.directory.status(id);
      if (status) this.send(viewer, JSON.stringify(status));
      const from = (since as Record<string, unknown> | undefined)?.[id];
      if (typeof from === 'number' && Number.isInteger(from) && from >= 0) {
        // Synchronous from here to the last event: no broadcast can slip in between, so the
        // live events that follow carry on with no gap and no duplicate.
        // At most half the viewer's queue limit, so a replay never gets a viewer dropped.
        const { gap, events } = this.directory.replay(id, from, REPLAY_LIMIT, this.options.maxBufferedBytes / 2);
        if (gap) this.send(viewer, JSON.stringify({ type: 'gap', stream: id, ...gap }));
        for (const m of events) this.send(viewer, m.json);
      }
    }
  }

  /** Sends a stream's event to its subscribers (those subscribed now); serialised once. */
  broadcast(message: StreamMessage): void {
    const viewers: Viewer[] = [];
    for (const viewer of this.viewers) if (viewer.streams.has(message.stream)) viewers.push(viewer);
    this.enqueue(Buffer.from(JSON.stringify(message)), viewers);
  }

  /** Tells every viewer that the list of streams changed. */
  announceStreams(): void {
    this.enqueue(Buffer.from(JSON.stringify({ type: 'streams', streams: this.directory.ids() })), [...this.viewers]);
  }

  private send(viewer: Viewer, data: string): void {
    // Behind messages still going out, so that this viewer gets them in order.
    if (this.outbox.length) this.enqueue(Buffer.from(data), [viewer]);
    else this.write(viewer, data);
  }

  private enqueue(data: Buffer, viewers: Viewer[]): void {
    if (this.closed || viewers.length === 0) return;
    this.outbox.push({ data, viewers, next: 0 });
    // The first slice goes out now (with few viewers, all of it); a drain already scheduled
    // takes it in turn.
    if (!this.draining) this.drain();
  }

  private readonly drain = (): void => {
    this.draining = undefined;
    let budget = this.options.sendsPerTurn;
    while (this.outbox.length && budget > 0) {
      const job = this.outbox[0]!;
      while (job.next < job.viewers.length && budget-- > 0) this.write(job.viewers[job.next++]!, job.data);
      if (job.next === job.viewers.length) this.outbox.shift();
    }
    if (this.outbox.length && !this.closed) this.draining = setImmediate(this.drain);
  };

  private write(viewer: Viewer, data: string | Buffer): void {
    const { socket } = viewer;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.stats.droppedViewers++;
      this.viewers.delete(viewer);
      this.stats.viewers = this.viewers.size;
      socket.close(CLOSE_TOO_SLOW, 'viewer too slow: outbound queue over limit');
      // A peer that does not read will not complete the closing handshake either.
      setTimeout(() => socket.terminate(), 5000).unref();
      return;
    }
    // A Buffer would go out as a binary frame unless told otherwise.
    socket.send(data, { binary: false });
    this.stats.messages++;
  }

  /** Pings every viewer, `sendsPerTurn` at a time, and cuts off those that missed the last ping. */
  private heartbeat(): void {
    const viewers = [...this.viewers];
    const slice = (from: number): void => {
      const to = Math.min(viewers.length, from + this.options.sendsPerTurn);
      for (let i = from; i < to; i++) {
        const viewer = viewers[i]!;
        if (!this.viewers.has(viewer)) continue;
        if (!viewer.alive) {
          viewer.socket.terminate();
          continue;
        }
        viewer.alive = false;
        viewer.socket.ping();
      }
      if (to < viewers.length && !this.closed) setImmediate(slice, to);
    };
    slice(0);
  }

  /** Closes every socket (1001) and stops the heartbeat. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.draining) clearImmediate(this.draining);
    this.outbox.length = 0;
    for (const viewer of this.viewers) viewer.socket.close(1001, 'server shutting down');
    this.viewers.clear();
  }
}
