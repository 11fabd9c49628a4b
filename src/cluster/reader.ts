/**
 * A web node's view of the cluster's events: one blocking read (XREAD BLOCK) over every stream's
 * Redis Stream and the control stream, on a connection of its own, from where this node has got
 * to in each stream. Entries are handed over in order, each once; a stream added anywhere wakes
 * the read at once (the control stream is one of the keys it waits on). When a stream's next
 * entry is further on than the next seq (events trimmed by retention while this node was away),
 * the reader says so first, as a gap.
 */
import { log } from '../util/log.js';
import { type LogEntry, toLogEntry, type RawEntry } from './event-log.js';
import { type ClusterKeys, parseEntryId, seqEntryId } from './keys.js';
import type { CommandSender } from './lua.js';
import type { StreamRegistry } from './registry.js';

export interface ReaderHandlers {
  /** An event or a status, in the stream's order. */
  entry(stream: string, entry: LogEntry): void;
  /** Events `from`..`to` are gone from Redis before this node saw them. */
  gap(stream: string, from: number, to: number): void;
  /** A stream was registered (by any node). */
  added(stream: string): void;
  /** A stream was unregistered (by any node). */
  removed(stream: string): void;
}

export interface ReaderOptions {
  /** How long one read waits for news (ms). */
  blockMs: number;
  /** The most entries one read takes per stream. */
  count: number;
}

export const READER_DEFAULTS: ReaderOptions = { blockMs: 2_000, count: 256 };

type XReadReply = Record<string, RawEntry[]> | [string, RawEntry[]][] | null;

export class ClusterReader {
  /** Each stream's last entry ID handed over. */
  private readonly cursors = new Map<string, string>();
  private controlCursor = '0-0';
  private stopped = false;
  private loop: Promise<void> | undefined;
  private caughtUp = false;
  private readonly waiters: (() => void)[] = [];
  private from: (stream: string) => number = () => 0;

  constructor(
    /** A connection for this reader alone: a blocking read holds it. */
    private readonly redis: CommandSender,
    private readonly keys: ClusterKeys,
    private readonly registry: StreamRegistry,
    private readonly handlers: ReaderHandlers,
    private readonly options: ReaderOptions = READER_DEFAULTS,
  ) {}

  /**
   * Starts reading every registered stream after the seq this node already has (`from`, 0 for
   * none): what it missed first, then live.
   */
  async start(from: (stream: string) => number): Promise<void> {
    this.from = from;
    const last = await this.redis.sendCommand<RawEntry[]>(['XREVRANGE', this.keys.control, '+', '-', 'COUNT', '1']);
    this.controlCursor = last[0]?.[0] ?? '0-0';
    for (const id of (await this.registry.all()).keys()) this.follow(id, from(id));
    this.loop = this.run();
  }

  /** Follows a stream from after seq `since` (its statuses after `since` too). */
  follow(stream: string, since: number): void {
    if (!this.cursors.has(stream)) this.cursors.set(stream, seqEntryId(since));
  }

  /** The streams followed, with the seq each has reached. */
  reached(): Map<string, number> {
    return new Map([...this.cursors].map(([id, cursor]) => [id, parseEntryId(cursor).seq]));
  }

  /** Resolves once a read has found nothing more waiting in any stream (what was missed is in). */
  ready(): Promise<void> {
    if (this.caughtUp) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        await this.readOnce();
        backoff = 100;
      } catch (err) {
        if (this.stopped) return;
        log.warn('cluster: reading events failed; retrying', { error: (err as Error).message, retryInMs: backoff });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(5_000, backoff * 2);
      }
    }
  }

  private async readOnce(): Promise<void> {
    const streams = [...this.cursors.keys()];
    const keys = [this.keys.control, ...streams.map((id) => this.keys.events(id))];
    const ids = [this.controlCursor, ...streams.map((id) => this.cursors.get(id)!)];
    const reply = await this.redis.sendCommand<XReadReply>(['XREAD', 'COUNT', String(this.options.count), 'BLOCK', String(this.options.blockMs), 'STREAMS', ...keys, ...ids]);
    const byKey = new Map<string, RawEntry[]>(reply === null ? [] : Array.isArray(reply) ? reply : Object.entries(reply));
    let full = false;
    for (const [, entries] of byKey) if (entries.length >= this.options.count) full = true;
    // Control first: a stream added is followed from the next read on.
    for (const [id, fields] of byKey.get(this.keys.control) ?? []) {
      this.controlCursor = id;
      const f = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, k) => [fields[2 * k], fields[2 * k + 1]]));
      if (f.op === 'add' && typeof f.id === 'string') {
        this.follow(f.id, this.from(f.id));
        this.handlers.added(f.id);
      } else if (f.op === 'remove' && typeof f.id === 'string') {
        this.cursors.delete(f.id);
        this.handlers.removed(f.id);
      }
    }
    for (const stream of streams) {
      const raw = byKey.get(this.keys.events(stream));
      if (!raw?.length || !this.cursors.has(stream)) continue;
      for (const r of raw) {
        const entry = toLogEntry(r);
        const cursor = this.cursors.get(stream)!;
        const at = parseEntryId(cursor).seq;
        if (!entry.status && entry.seq > at + 1) this.handlers.gap(stream, at + 1, entry.seq - 1);
        this.cursors.set(stream, entry.id);
        this.handlers.entry(stream, entry);
      }
    }
    if (!full && !this.caughtUp) {
      this.caughtUp = true;
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Stops reading; the blocking read in flight ends within `blockMs`. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => undefined);
  }
}
