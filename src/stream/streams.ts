/**
 * The running streams: each one a pipeline subscription with its own sequence numbers, last
 * status and counters. Every caption and summary is written to the history store before it
 * is emitted, and a stream's sequence carries on from the store's last seq (after a restart
 * too). Adding validates the id and the URL before anything starts; removing unsubscribes,
 * which stops its ffmpeg.
 *
 * Events leave through one callback, so whoever fans them out (the WebSocket hub, SSE)
 * never reaches into stream state.
 */
import type { Subscription } from 'rxjs';
import { parseSource, redactUrl, type Source, type SourceRules } from '../ingest/source.js';
import { streamPipeline, newCounters, type Captioner, type PipelineCounters, type PipelineOptions, type StreamState } from '../pipeline/stream-pipeline.js';
import type { CaptionMessage, SequencedMessage, StatusMessage, StreamMessage, SummaryMessage } from './events.js';
import { log } from '../util/log.js';
import { HistoryStore, type StoredEvent } from '../store/history-store.js';
import { heartbeatPhase } from '../pipeline/scene-gate.js';

export class StreamConflictError extends Error {
  override name = 'StreamConflictError';
}
export class StreamInputError extends Error {
  override name = 'StreamInputError';
}

export interface StreamInfo {
  id: string;
  /** The source URL with any password replaced. */
  url: string;
  kind: Source['kind'];
  state: StreamState | 'connecting';
  error?: string;
  lastSeq: number;
  counters: PipelineCounters;
  /** Which captioner captions this stream (its spec, as `livecap serve --captioner` names it). */
  captioner: string;
}

/** The captioners a server has loaded: the default, and others that streams may choose by name. */
export interface CaptionerChoice {
  defaultName: string;
  default: Captioner;
  named?: ReadonlyMap<string, Captioner>;
}

interface Running {
  id: string;
  url: string;
  source: Source;
  state: StreamInfo['state'];
  error?: string;
  seq: number;
  counters: PipelineCounters;
  captioner: string;
  subscription?: Subscription;
}

/** A stream id: 1-64 letters, digits, '-' or '_', starting with a letter or digit. */
export const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface StreamManagerOptions {
  rules: SourceRules;
  pipeline: Omit<PipelineOptions, 'streamId'>;
  /** Where history goes; without one, an in-memory store that lasts as long as the manager. */
  store?: HistoryStore;
}

/** What a subscriber asking for events after `since` gets: a gap first if history no longer reaches back. */
export interface Replay {
  gap?: { from: number; to: number };
  /** Stored events, their JSON ready to send. */
  events: StoredEvent[];
}

export class StreamManager {
  private readonly streams = new Map<string, Running>();
  private closed = false;
  /** Streams started so far, for their heartbeat phases. */
  private added = 0;
  readonly store: HistoryStore;
  private readonly ownsStore: boolean;

  constructor(
    private readonly captioners: CaptionerChoice,
    private readonly options: StreamManagerOptions,
    private readonly emit: (message: StreamMessage) => void,
  ) {
    this.ownsStore = !options.store;
    this.store = options.store ?? new HistoryStore({ path: ':memory:' });
  }

  /** The captioner a stream asked for by name; the default when it asked for none. */
  private captionerFor(name: unknown): { name: string; captioner: Captioner } {
    const { defaultName, named } = this.captioners;
    if (name === undefined || name === defaultName) return { name: defaultName, captioner: this.captioners.default };
    const captioner = typeof name === 'string' ? named?.get(name) : undefined;
    if (!captioner) {
      const known = [defaultName, ...(named?.keys() ?? [])].map((n) => `'${n}'`).join(', ');
      throw new StreamInputError(`captioner must be one that the server loaded (${known}); got ${JSON.stringify(name)}`);
    }
    return { name: name as string, captioner };
  }

  /** Validates and starts a stream from a user's URL, captioned by the named captioner (default if none). */
  add(id: unknown, url: unknown, captioner?: unknown): StreamInfo {
    if (typeof id !== 'string' || !STREAM_ID.test(id)) throw new StreamInputError(`stream id must be 1-64 letters, digits, '-' or '_', starting with a letter or digit; got ${JSON.stringify(id)}`);
    if (typeof url !== 'string') throw new StreamInputError(`stream url must be a string; got ${JSON.stringify(url)}`);
    if (this.streams.has(id)) throw new StreamConflictError(`stream '${id}' already exists`);
    let source: Source;
    try {
      source = parseSource(url, this.options.rules);
    } catch (err) {
      throw new StreamInputError((err as Error).message);
    }
    this.captionerFor(captioner);
    return this.addSource(id, source, redactUrl(url), captioner as string | undefined);
  }

  /** Starts a stream from an already trusted source (the built-in demo). */
  addSource(id: string, source: Source, displayUrl: string, captionerName?: string): StreamInfo {
    if (this.closed) throw new Error('stream manager is closed');
    if (this.streams.has(id)) throw new StreamConflictError(`stream '${id}' already exists`);
    const { name, captioner } = this.captionerFor(captionerName);
    const stream: Running = { id, url: displayUrl, source, state: 'connecting', seq: this.store.lastSeq(id), counters: newCounters(), captioner: name };
    this.streams.set(id, stream);
    log.info('stream added', { stream: id, url: displayUrl, captioner: name });
    // Each stream's heartbeat keyframes in a phase of their own, so streams started together
    // do not all ask the captioner at once.
    const gate = { heartbeatPhase: heartbeatPhase(this.added++), ...this.options.pipeline.gate };
    stream.subscription = streamPipeline(source, captioner, { ...this.options.pipeline, gate, streamId: id }, stream.counters).subscribe({
      next: (event) => {
        if (event.type === 'status') {
          stream.state = event.state;
          stream.error = event.error;
          if (event.state === 'live') log.info('stream live', { stream: id });
          else log.warn(`stream ${event.state}`, { stream: id, error: event.error, retryInMs: event.retryInMs });
          this.emit({ stream: id, ...event } satisfies StatusMessage);
        } else {
          // Update state before emitting: a listener may read it back.
          const seq = ++stream.seq;
          const message: SequencedMessage =
            event.type === 'caption'
              ? ({ type: 'caption', stream: id, seq, ts: Date.now(), frameTs: event.frameTs, text: event.text, latencyMs: event.latencyMs, keyframe: event.keyframe } satisfies CaptionMessage)
              : ({ type: 'summary', stream: id, seq, ts: Date.now(), from: event.from, to: event.to, text: event.text } satisfies SummaryMessage);
          try {
            this.store.append(message);
          } catch (err) {
            // Viewers still get the event; the operator learns that history is failing.
            log.error('history store: cannot write an event', { stream: id, seq, error: (err as Error).message });
          }
          this.emit(message);
        }
      },
      error: (err: Error) => {
        stream.state = 'stopped';
        stream.error = err.message;
        log.error('stream pipeline failed', { stream: id, error: err.message });
        this.emit({ type: 'status', stream: id, state: 'stopped', error: err.message });
      },
    });
    return this.info(stream);
  }

  /** Stops and forgets a stream; false if there was none. */
  remove(id: string): boolean {
    const stream = this.streams.get(id);
    if (!stream) return false;
    this.streams.delete(id);
    stream.subscription?.unsubscribe();
    log.info('stream removed', { stream: id });
    this.emit({ type: 'status', stream: id, state: 'stopped' });
    return true;
  }

  has(id: string): boolean {
    return this.streams.has(id);
  }

  get(id: string): StreamInfo | undefined {
    const s = this.streams.get(id);
    return s && this.info(s);
  }

  list(): StreamInfo[] {
    return [...this.streams.values()].map((s) => this.info(s));
  }

  /** Captions and summaries after `since`, oldest first, at most `limit`. */
  history(id: string, since = 0, limit = 100): SequencedMessage[] {
    return this.store.since(id, since, limit);
  }

  /**
   * Everything after `since` for a subscriber, at most the newest `limit` events and `maxBytes`
   * of JSON: a gap first when retention removed events it has not seen, or when there are more
   * than fit (the subscriber can page through those with the history API).
   */
  replay(id: string, since: number, limit: number, maxBytes = Infinity): Replay {
    const last = this.store.lastSeq(id);
    if (since >= last) return { events: [] };
    const oldest = this.store.firstSeq(id) ?? last + 1;
    let from = Math.max(since, oldest - 1, last - limit);
    let events = this.store.sinceStored(id, from, limit);
    // Keep the newest that fit the byte budget.
    let bytes = 0;
    let keep = events.length;
    while (keep > 0 && bytes + events[keep - 1]!.json.length <= maxBytes) bytes += events[--keep]!.json.length;
    if (keep > 0) {
      from = events[keep - 1]!.seq;
      events = events.slice(keep);
    }
    return { gap: from > since ? { from: since + 1, to: from } : undefined, events };
  }

  /** The current status of a stream as a message, for a new subscriber. */
  status(id: string): StatusMessage | undefined {
    const s = this.streams.get(id);
    if (!s || s.state === 'connecting') return undefined;
    return { type: 'status', stream: id, state: s.state, error: s.error };
  }

  private info(s: Running): StreamInfo {
    return { id: s.id, url: s.url, kind: s.source.kind, state: s.state, error: s.error, lastSeq: s.seq, counters: { ...s.counters }, captioner: s.captioner };
  }

  /** Stops every stream. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.streams.keys()]) this.remove(id);
    if (this.ownsStore) this.store.close();
  }
}
