/**
 * A stream's events in Redis: one Redis Stream per livecap stream, appended only by the holder of
 * its lease, each event under the entry ID of its seq (see keys.ts), keyframes beside them with
 * the same retention.
 */
import { afterSeq, type ClusterKeys, parseEntryId, seqEntryId } from './keys.js';
import type { Lease } from './leases.js';
import type { CommandSender } from './lua.js';
import { APPEND, TRIM_OLDER } from './scripts.js';

/** An append by a node that no longer holds the stream's lease. */
export class FencedError extends Error {
  constructor(
    readonly stream: string,
    /** The lease as Redis has it: "<token> <node>", or "no lease". */
    readonly holder: string,
  ) {
    super(`stream ${stream}: the lease is no longer ours (now: ${holder})`);
  }
}

/** An append whose seq is not the next one (someone else appended, or an earlier append did land). */
export class SeqConflictError extends Error {
  constructor(
    readonly stream: string,
    readonly expected: number,
    readonly got: number,
  ) {
    super(`stream ${stream}: seq ${got} is not the next one (${expected} is)`);
  }
}

export interface LogAppend {
  /** The event's seq; none for a status. */
  seq?: number;
  type: string;
  /** Milliseconds since the epoch. */
  ts: number;
  /** The event as viewers get it. */
  json: string;
  jpeg?: Buffer;
}

export interface LogEntry {
  id: string;
  /** The event's seq, or for a status the seq it follows. */
  seq: number;
  status: boolean;
  type: string;
  ts: number;
  json: string;
  /** The node that wrote it, and its fencing token. */
  node: string;
  token: string;
}

/** An entry as XRANGE and XREAD give it: its ID and its fields, name then value. */
export type RawEntry = [string, string[]];

export function toLogEntry([id, fields]: RawEntry): LogEntry {
  const f: Record<string, string> = {};
  for (let k = 0; k + 1 < fields.length; k += 2) f[fields[k]] = fields[k + 1];
  const { seq, status } = parseEntryId(id);
  return { id, seq, status, type: f.t ?? '', ts: Number(f.ts), json: f.j ?? '', node: f.n ?? '', token: f.f ?? '' };
}

const BUFFERS = { typeMapping: { 36 /* RESP blob string */: Buffer } };

export class EventLog {
  constructor(
    private readonly redis: CommandSender,
    private readonly keys: ClusterKeys,
  ) {}

  /** Appends an event for the holder of `lease`; throws FencedError or SeqConflictError, writing nothing. */
  async append(lease: Lease, event: LogAppend, maxEvents: number): Promise<string> {
    const k = this.keys;
    const id = lease.stream;
    try {
      return await APPEND.run<string>(
        this.redis,
        [k.lease(id), k.seq(id), k.events(id), k.keyframes(id), k.status(id)],
        [lease.node, lease.token, event.seq === undefined ? '' : String(event.seq), event.type, String(Math.round(event.ts)), event.json, String(maxEvents), event.jpeg ?? ''],
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (message.startsWith('FENCED ')) throw new FencedError(id, message.slice('FENCED '.length));
      const seq = /^SEQ expected (\d+), got (\d+)/.exec(message);
      if (seq) throw new SeqConflictError(id, Number(seq[1]), Number(seq[2]));
      throw error;
    }
  }

  /** The last seq given out for the stream (0 before any). */
  async lastSeq(stream: string): Promise<number> {
    return Number((await this.redis.sendCommand<string | null>(['GET', this.keys.seq(stream)])) ?? 0);
  }

  /** Up to `count` entries after the event with seq `since` (0: from the start), statuses included, oldest first. */
  async after(stream: string, since: number, count: number): Promise<LogEntry[]> {
    return this.range(stream, `(${seqEntryId(since)}`, count);
  }

  /** Up to `count` entries after the entry ID `cursor` (exclusive), oldest first. */
  async afterEntry(stream: string, cursor: string, count: number): Promise<LogEntry[]> {
    return this.range(stream, `(${cursor}`, count);
  }

  private async range(stream: string, from: string, count: number): Promise<LogEntry[]> {
    const raw = await this.redis.sendCommand<RawEntry[]>(['XRANGE', this.keys.events(stream), from, '+', 'COUNT', String(count)]);
    return raw.map(toLogEntry);
  }

  /** Up to `count` events (no statuses) with seq in (`after`, `upTo`], newest first. */
  async newest(stream: string, upTo: number, after: number, count: number): Promise<LogEntry[]> {
    if (upTo <= after) return [];
    const raw = await this.redis.sendCommand<RawEntry[]>(['XREVRANGE', this.keys.events(stream), seqEntryId(upTo), afterSeq(after), 'COUNT', String(count)]);
    return raw.map(toLogEntry).filter((e) => !e.status);
  }

  /** The oldest seq still kept (undefined when the stream has no events). */
  async firstSeq(stream: string): Promise<number | undefined> {
    const raw = await this.redis.sendCommand<RawEntry[]>(['XRANGE', this.keys.events(stream), '-', '+', 'COUNT', '1']);
    if (raw.length === 0) return undefined;
    const { seq, status } = parseEntryId(raw[0][0]);
    return status ? seq + 1 : seq;
  }

  /** The newest entry, status or event (undefined when there is none). */
  async last(stream: string): Promise<LogEntry | undefined> {
    const raw = await this.redis.sendCommand<RawEntry[]>(['XREVRANGE', this.keys.events(stream), '+', '-', 'COUNT', '1']);
    return raw.length ? toLogEntry(raw[0]) : undefined;
  }

  /** The keyframe JPEG of the event with this seq, while the event is kept. */
  async keyframe(stream: string, seq: number): Promise<Buffer | undefined> {
    const id = seqEntryId(seq);
    const raw = await this.redis.sendCommand<[Buffer, Buffer[]][]>(['XRANGE', this.keys.keyframes(stream), id, id], BUFFERS);
    const fields = raw[0]?.[1];
    return fields && fields.length >= 2 ? fields[1] : undefined;
  }

  /**
   * Removes every stream's events older than `cutoffMs` (see `trimOlderThan`), registered or
   * not (a removed stream keeps its history until then), if no other node did this minute.
   * Returns how many events went.
   */
  async sweepOlderThan(cutoffMs: number, everyMs = 60_000): Promise<number> {
    const mine = await this.redis.sendCommand<string | null>(['SET', this.keys.sweep, '1', 'NX', 'PX', String(Math.max(1_000, everyMs - 1_000))]);
    if (mine === null) return 0;
    let removed = 0;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.sendCommand<[string, string[]]>(['SCAN', cursor, 'MATCH', this.keys.allEvents, 'COUNT', '500', 'TYPE', 'stream']);
      cursor = next;
      for (const key of found) {
        const stream = this.keys.streamOfEvents(key);
        if (stream !== undefined) removed += await this.trimOlderThan(stream, cutoffMs);
      }
    } while (cursor !== '0');
    return removed;
  }

  /** Removes the stream's events (and their keyframes) older than `cutoffMs`; how many went. */
  async trimOlderThan(stream: string, cutoffMs: number, batch = 500): Promise<number> {
    let removed = 0;
    for (;;) {
      const n = await TRIM_OLDER.run<number>(this.redis, [this.keys.events(stream), this.keys.keyframes(stream)], [String(Math.round(cutoffMs)), String(batch)]);
      removed += n;
      if (n < batch) return removed;
    }
  }
}
