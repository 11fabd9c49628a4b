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
 * - A subscribe names each stream once however often it repeats it; replays (see replay.ts)
 *   are read in chunks that yield, within the connection's budget, one at a time per viewer
 *   and in the order its messages came. While a stream replays for a viewer, its live events
 *   are held for that viewer and released after the replay, so nothing is lost or sent twice.
 *
 * The hub talks to a viewer through a `ViewerSocket` (send, bufferedAmount, close, terminate,
 * ping) and hears from it through the `ViewerConnection` that `accept` returns; ws-viewer.ts
 * joins the two to a ws WebSocket, and tests to sockets of their own.
 */
import { AddressBudgets, allowance, Held, REPLAY_DEFAULTS, ReplayBudget, spend, type PendingReplay, type ReplayLimits } from './replay.js';
import { log } from '../util/log.js';
import { readViewerRequest } from './viewer-messages.js';
import type { StatusMessage, StreamMessage } from '../core/events.js';

export const CLOSE_TOO_SLOW = 4008;
export const PROTOCOL_VERSION = 1;
/** Subscribes and unsubscribes that may wait on one connection behind its replays. */
export const MAX_WAITING = 64;
const DRAIN_POLL_MS = 20;

export interface HubOptions {
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** Replay limits per subscribe and per connection; one replay is also at most half of `maxBufferedBytes`. */
  replay: ReplayLimits;
  /** Socket writes per turn of the event loop; the rest wait for the next turn. */
  sendsPerTurn: number;
}

export const HUB_DEFAULTS: HubOptions = { maxBufferedBytes: 1024 * 1024, heartbeatMs: 30_000, replay: REPLAY_DEFAULTS, sendsPerTurn: 256 };

/** What the hub needs to know about streams, without reaching into them. */
export interface HubDirectory {
  ids(): string[];
  has(id: string): boolean;
  /** Starts reading the events after `since` (see replay.ts); `upTo` is fixed when it returns. */
  replay(id: string, since: number, limits: Pick<ReplayLimits, 'maxEvents' | 'maxBytes' | 'chunkRows'>, allowance: { events: number; bytes: number }, stop: () => boolean): PendingReplay;
  status(id: string): StatusMessage | undefined;
}

/** What the hub needs of a viewer's connection. */
export interface ViewerSocket {
  /** Sends one text message; a socket that is no longer open drops it. */
  send(data: string | Buffer): void;
  /** Bytes queued and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Cuts the connection off at once. */
  terminate(): void;
  ping(): void;
}

/** What a viewer's connection tells the hub: what it received, pongs, and that it closed. */
export interface ViewerConnection {
  /** A message from the viewer: its text, or null for a binary frame. */
  received(text: string | null): void;
  ponged(): void;
  closed(): void;
}

interface Viewer {
  socket: ViewerSocket;
  /** Streams whose live events go straight to this viewer. */
  streams: Set<string>;
  /**
   * Per stream, the seq up to which live events are not sent: the viewer asked for the events
   * after it, and this server had not received that far (a cluster's node that lags another).
   */
  floors: Map<string, number>;
  alive: boolean;
  /** Its own replay budget and its client address's. */
  budgets: ReplayBudget[];
  /** Its subscribes and unsubscribes, run one after the other, and how many wait. */
  work: Promise<void>;
  waiting: number;
}

export interface HubStats {
  viewers: number;
  messages: number;
  droppedViewers: number;
  /** Replays cut short or refused because a connection had spent its replay budget. */
  replaysRefused: number;
  /** Replays being read now. */
  replaying: number;
}

export class Hub {
  private readonly viewers = new Set<Viewer>();
  /** Per stream, the viewers whose replay of it is being read, with the live events held for them. */
  private readonly holding = new Map<string, Map<Viewer, Held>>();
  private readonly options: HubOptions;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Messages not yet written to every viewer they are for, oldest first. */
  private readonly outbox: { data: Buffer; viewers: Viewer[]; next: number }[] = [];
  private draining: NodeJS.Immediate | undefined;
  readonly stats: HubStats = { viewers: 0, messages: 0, droppedViewers: 0, replaysRefused: 0, replaying: 0 };

  /** Replay budgets per client address, shared with server-sent events. */
  readonly addresses: AddressBudgets;

  constructor(
    private readonly directory: HubDirectory,
    options: Partial<Omit<HubOptions, 'replay'>> & { replay?: Partial<ReplayLimits> } = {},
  ) {
    this.options = { ...HUB_DEFAULTS, ...options, replay: { ...REPLAY_DEFAULTS, ...options.replay } };
    this.addresses = new AddressBudgets(this.options.replay);
    this.timer = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Takes over an accepted socket from a client at `address` (its replays count against that
   * address); the caller passes on what the socket hears through the returned connection.
   */
  accept(socket: ViewerSocket, address = 'unknown'): ViewerConnection {
    const ignored: ViewerConnection = { received: () => {}, ponged: () => {}, closed: () => {} };
    if (this.closed) {
      socket.close(1001, 'server shutting down');
      return ignored;
    }
    const viewer: Viewer = {
      socket,
      streams: new Set(),
      floors: new Map(),
      alive: true,
      budgets: [new ReplayBudget({ events: this.options.replay.connectionEvents, bytes: this.options.replay.connectionBytes }), this.addresses.of(address)],
      work: Promise.resolve(),
      waiting: 0,
    };
    this.viewers.add(viewer);
    this.stats.viewers = this.viewers.size;
    this.send(viewer, JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, streams: this.directory.ids() }));
    return {
      received: (text) => {
        if (this.viewers.has(viewer)) this.receive(viewer, text);
      },
      ponged: () => (viewer.alive = true),
      closed: () => {
        this.viewers.delete(viewer);
        this.stats.viewers = this.viewers.size;
      },
    };
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
    const read = readViewerRequest(msg);
    if (!('request' in read)) return this.fail(viewer, read.code, read.message);
    const { type, streams, since: from = {} } = read.request;
    const ids = [...new Set(streams)];
    if (type === 'unsubscribe') return this.queue(viewer, async () => this.unsubscribe(viewer, ids));
    const unknown = ids.filter((id) => !this.directory.has(id));
    if (unknown.length) this.fail(viewer, 'unknown_stream', `no such stream: ${unknown.join(', ')}`);
    const known = ids.filter((id) => this.directory.has(id));
    this.queue(viewer, async () => {
      for (const id of known) {
        if (!this.viewers.has(viewer)) return;
        await this.subscribe(viewer, id, Object.hasOwn(from, id) ? from[id] : undefined);
      }
    });
  }

  /** Runs a viewer's requests one at a time, in the order they came; at most `MAX_WAITING` wait. */
  private queue(viewer: Viewer, job: () => Promise<void>): void {
    if (viewer.waiting >= MAX_WAITING)
      return this.fail(viewer, 'busy', `more than ${MAX_WAITING} subscribes and unsubscribes are waiting on this connection; wait for their replays before sending more`);
    viewer.waiting++;
    viewer.work = viewer.work
      .then(job)
      .catch((err: Error) => {
        log.error('subscribe failed', { error: err.message });
        this.fail(viewer, 'internal', 'the server could not complete this request');
      })
      .finally(() => viewer.waiting--);
  }

  /** Resolves once the viewer's socket has at most half its queue limit buffered, or it left. */
  private async drained(viewer: Viewer): Promise<void> {
    while (this.viewers.has(viewer) && viewer.socket.bufferedAmount > this.options.maxBufferedBytes / 2) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS).unref());
    }
  }

  private unsubscribe(viewer: Viewer, ids: string[]): void {
    for (const id of ids) {
      viewer.streams.delete(id);
      viewer.floors.delete(id);
    }
  }

  /** Subscribes a viewer to a stream: status, then (with `since`) gap and replay, then live events. */
  private async subscribe(viewer: Viewer, id: string, since: number | undefined): Promise<void> {
    viewer.floors.delete(id);
    if (since === undefined) {
      this.sendStatus(viewer, id);
      viewer.streams.add(id);
      return;
    }
    // One replay after another would overfill the queue of a viewer that reads, but slower than loopback.
    await this.drained(viewer);
    if (!this.viewers.has(viewer)) return;
    this.sendStatus(viewer, id);
    // Live events for this stream wait in `held` until the replay is sent.
    viewer.streams.delete(id);
    const held = new Held();
    let holders = this.holding.get(id);
    if (!holders) this.holding.set(id, (holders = new Map()));
    holders.set(viewer, held);
    this.stats.replaying++;
    try {
      const { replay: limits, maxBufferedBytes } = this.options;
      // At most half the viewer's queue limit, so a replay alone never gets a viewer dropped.
      const perReplay = { ...limits, maxBytes: Math.min(limits.maxBytes, maxBufferedBytes / 2) };
      const pending = this.directory.replay(id, since, perReplay, allowance(viewer.budgets), () => !this.viewers.has(viewer));
      const { gap, events, refused } = await pending.done;
      // What was read counts, whether or not the viewer stayed to receive it.
      spend(
        viewer.budgets,
        events.length,
        events.reduce((n, e) => n + e.json.length, 0),
      );
      if (!this.viewers.has(viewer)) return;
      if (refused) {
        this.stats.replaysRefused++;
        this.fail(
          viewer,
          'replay_budget',
          `stream '${id}': this connection has used its replay budget (${limits.connectionEvents} events, ${limits.connectionBytes} bytes a minute; ${limits.addressEvents} events, ${limits.addressBytes} bytes a minute for all connections from one address); the events in the gap that follows can be read from GET /api/streams/${id}/captions?since=${since}`,
        );
      }
      if (gap) this.send(viewer, JSON.stringify({ type: 'gap', stream: id, ...gap }));
      for (const m of events) this.send(viewer, m.json);
      // Events up to `since` the viewer has; up to `upTo` it was just sent.
      for (const data of held.release(Math.max(pending.upTo, since))) this.send(viewer, data);
      if (since > pending.upTo) viewer.floors.set(id, since);
      viewer.streams.add(id);
    } finally {
      this.stats.replaying--;
      holders.delete(viewer);
      if (holders.size === 0) this.holding.delete(id);
    }
  }

  private sendStatus(viewer: Viewer, id: string): void {
    const status = this.directory.status(id);
    if (status) this.send(viewer, JSON.stringify(status));
  }

  /** Keeps a live event for each viewer whose replay of its stream is still being read. */
  private hold(message: StreamMessage, data: string): void {
    const holders = this.holding.get(message.stream);
    if (!holders) return;
    for (const [viewer, held] of holders) {
      held.hold('seq' in message ? message.seq : undefined, data, data.length);
      // A replay takes moments; a viewer whose held events outgrow its queue limit meanwhile is as good as too slow.
      if (held.bytes > this.options.maxBufferedBytes) this.drop(viewer);
    }
  }

  /** Sends a stream's event to its subscribers (those subscribed now); serialised once. */
  broadcast(message: StreamMessage): void {
    const data = JSON.stringify(message);
    this.hold(message, data);
    const seq = 'seq' in message ? message.seq : undefined;
    const viewers: Viewer[] = [];
    for (const viewer of this.viewers) {
      if (!viewer.streams.has(message.stream)) continue;
      const floor = seq === undefined || viewer.floors.size === 0 ? undefined : viewer.floors.get(message.stream);
      if (floor !== undefined) {
        if (seq! <= floor) continue;
        viewer.floors.delete(message.stream);
      }
      viewers.push(viewer);
    }
    this.enqueue(Buffer.from(data), viewers);
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
    // A viewer that left (or was dropped) while a slice waited gets nothing more.
    if (!this.viewers.has(viewer)) return;
    const { socket } = viewer;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) return this.drop(viewer);
    socket.send(data);
    this.stats.messages++;
  }

  /** Closes a viewer that reads too slowly (4008), and counts it. */
  private drop(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    this.stats.droppedViewers++;
    this.stats.viewers = this.viewers.size;
    viewer.socket.close(CLOSE_TOO_SLOW, 'viewer too slow: outbound queue over limit');
    // A peer that does not read will not complete the closing handshake either.
    setTimeout(() => viewer.socket.terminate(), 5000).unref();
  }

  /**
   * One round of the heartbeat (the hub's timer runs one every `heartbeatMs`): pings every
   * viewer, `sendsPerTurn` at a time, and cuts off those that did not answer the last round.
   */
  heartbeat(): void {
    const viewers = [...this.viewers];
    const slice = (from: number): void => {
      const to = Math.min(viewers.length, from + this.options.sendsPerTurn);
      for (let i = from; i < to; i++) {
        const viewer = viewers[i]!;
        if (!this.viewers.has(viewer)) continue;
        if (!viewer.alive) {
          this.viewers.delete(viewer);
          this.stats.viewers = this.viewers.size;
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
    this.addresses.close();
    if (this.draining) clearImmediate(this.draining);
    this.outbox.length = 0;
    for (const viewer of this.viewers) viewer.socket.close(1001, 'server shutting down');
    this.viewers.clear();
  }
}
