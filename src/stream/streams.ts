/**
 * The running streams: each one a pipeline subscription with its own sequence numbers, last
 * status and counters. Every caption and summary is written to the history store before it
 * is emitted, and a stream's sequence carries on from the store's last seq (after a restart
 * too). Adding validates the id and the URL before anything starts; removing unsubscribes,
 * which stops its ffmpeg.
 *
 * Events leave through one callback, so whoever fans them out (the WebSocket hub, SSE)
 * never reaches into stream state.
 *
 * When history cannot be written (a full disk), a seq must still never be reused, and a viewer
 * should not lose live captions if that can be helped. So an event whose write failed is sent
 * only if its seq alone could be recorded (`HistoryStore.coverSeq`): it reaches live viewers
 * but is missing from history, and a restart carries on past it. If even that fails, the
 * event is held back (not sent, its seq not used): every seq a viewer ever saw is on disk.
 * Either way the stream is `degraded` (in its info, /readyz and /metrics) until a write works.
 *
 * Streams added over the API (`create`) are saved in the history store and started again by
 * `restore` after a restart; `forget` removes one for good. Streams from the command line or
 * the config file are not saved: the config says what runs.
 */
import { BehaviorSubject, type Subscription } from 'rxjs';
import { parseSource, type Source, type SourceRules } from '../ingest/source.js';
import { SourceFinished } from '../ingest/supervised-source.js';
import { streamPipeline, newCounters, type PipelineCounters, type PipelineOptions } from '../pipeline/stream-pipeline.js';
import { log } from '../util/log.js';
import { HistoryStore } from '../store/history-store.js';
import { startReplay, type PendingReplay, type ReplayLimits } from './replay.js';
import { heartbeatPhase } from '../pipeline/scene-gate.js';
import type { Captioner } from '../core/caption.js';
import type { RawFrame } from '../ingest/ffmpeg-frames.js';
import type { StreamState } from '../core/events.js';
import type { CaptionMessage, SequencedMessage, StatusMessage, StreamMessage, SummaryMessage } from '../core/events.js';
import { alertMessage, sequencedMessage } from './stream-messages.js';
import type { RuleBook } from '../rules/rule-book.js';
import type { HistoryWriteStats, StreamDirectory, StreamInfo } from './directory.js';

export type { HistoryWriteStats, StreamInfo } from './directory.js';
import type { StreamRequest } from './api-schemas.js';
import { redactUrl } from '../util/redact.js';
import { probeVideo } from '../ingest/probe-video.js';
import { SUPERVISOR_DEFAULTS } from '../ingest/supervised-source.js';
import { LIVE_VIDEO_DEFAULTS, LiveVideo, type LiveVideoOptions } from './live-video.js';

export class StreamConflictError extends Error {
  override name = 'StreamConflictError';
}
export class StreamInputError extends Error {
  override name = 'StreamInputError';
}
/** The server runs as many streams as it may. */
export class StreamLimitError extends Error {
  override name = 'StreamLimitError';
}

/** The history store could not save or forget a stream; nothing was changed. */
export class StreamStoreError extends Error {
  override name = 'StreamStoreError';
}

/** The captioners a server has loaded: the default, and others that streams may choose by name. */
export interface CaptionerChoice {
  defaultName: string;
  default: Captioner;
  named?: ReadonlyMap<string, Captioner>;
}

/** The captioner a stream asked for by name; the default when it asked for none. */
export function chooseCaptioner(choice: CaptionerChoice, name: string | undefined): { name: string; captioner: Captioner } {
  const { defaultName, named } = choice;
  if (name === undefined || name === defaultName) return { name: defaultName, captioner: choice.default };
  const captioner = named?.get(name);
  if (!captioner) {
    const known = [defaultName, ...(named?.keys() ?? [])].map((n) => `'${n}'`).join(', ');
    throw new StreamInputError(`captioner must be one that the server loaded (${known}); got ${JSON.stringify(name)}`);
  }
  return { name, captioner };
}

interface Running {
  id: string;
  url: string;
  source: Source;
  state: StreamState | 'connecting';
  error?: string;
  note?: string;
  seq: number;
  counters: PipelineCounters;
  captioner: string;
  prompt?: string;
  degraded?: string;
  saved?: boolean;
  subscription?: Subscription;
  /** The last frame the pipeline analysed: the stream's snapshot. */
  latestFrame?: RawFrame;
  /** ffmpeg's outputs besides the frames: live video's while someone watches. */
  outputs: BehaviorSubject<readonly string[]>;
  live?: LiveVideo;
}

export interface StreamManagerOptions {
  rules: SourceRules;
  pipeline: Omit<PipelineOptions, 'streamId'>;
  /** Where history goes; without one, an in-memory store that lasts as long as the manager. */
  store?: HistoryStore;
  /** The most streams `add` runs at once (default: no limit); trusted `addSource` streams count too. */
  maxStreams?: number;
  /** Rules that raise alerts on captions and summaries (none when absent). */
  alerts?: RuleBook;
  /** Live video (HLS) of watched streams; the defaults when absent. */
  liveVideo?: LiveVideoOptions;
}

export class StreamManager implements StreamDirectory {
  private readonly streams = new Map<string, Running>();
  private closed = false;
  /** Live video of removed streams, still deleting its segments. */
  private readonly closing = new Set<Promise<void>>();
  /** Streams started so far, for their heartbeat phases. */
  private added = 0;
  readonly store: HistoryStore;
  private readonly ownsStore: boolean;
  readonly historyWrites: HistoryWriteStats = { failures: 0, heldBack: 0 };

  constructor(
    private readonly captioners: CaptionerChoice,
    private readonly options: StreamManagerOptions,
    private readonly emit: (message: StreamMessage) => void,
  ) {
    this.ownsStore = !options.store;
    this.store = options.store ?? new HistoryStore({ path: ':memory:' });
  }

  private captionerFor(name: string | undefined): { name: string; captioner: Captioner } {
    return chooseCaptioner(this.captioners, name);
  }

  /** A stream's prompt (its form checked by the request's schema), checked against its captioner. */
  private promptProblem(prompt: string | undefined, name: string, captioner: Captioner): string | undefined {
    if (prompt === undefined) return undefined;
    if (!captioner.takesPrompt) return `captioner '${name}' takes no prompt; prompts are for Florence-2 exports and vision-language model servers`;
    const problem = captioner.promptProblem?.(prompt);
    return problem && `prompt for captioner '${name}': ${problem}`;
  }

  /**
   * Starts a stream from a user's request (its form checked by the API's schema, api-schemas.ts):
   * whether this server can play the URL, has the captioner and the captioner takes the prompt
   * is checked here, every problem named at once.
   */
  add(id: string, url: string, captioner?: string, prompt?: string): StreamInfo {
    if (this.streams.has(id)) throw new StreamConflictError(`stream '${id}' already exists`);
    const max = this.options.maxStreams;
    if (max !== undefined && this.streams.size >= max) throw new StreamLimitError(`the server already runs its maximum of ${max} streams (--max-streams); remove one first`);
    const problems: string[] = [];
    let source: Source | undefined;
    try {
      source = parseSource(url, this.options.rules);
    } catch (err) {
      problems.push((err as Error).message);
    }
    let chosen: { name: string; captioner: Captioner } | undefined;
    try {
      chosen = this.captionerFor(captioner);
    } catch (err) {
      problems.push((err as Error).message);
    }
    const promptProblem = chosen && this.promptProblem(prompt, chosen.name, chosen.captioner);
    if (promptProblem) problems.push(promptProblem);
    if (problems.length || !source) throw new StreamInputError(problems.join('; '));
    return this.addSource(id, source, redactUrl(url), captioner, prompt);
  }

  /** Starts a stream from an already trusted source (the built-in demo, configured streams). */
  addSource(id: string, source: Source, displayUrl: string, captionerName?: string, prompt?: string): StreamInfo {
    if (this.closed) throw new Error('stream manager is closed');
    if (this.streams.has(id)) throw new StreamConflictError(`stream '${id}' already exists`);
    const { name, captioner } = this.captionerFor(captionerName);
    const promptProblem = this.promptProblem(prompt, name, captioner);
    if (promptProblem) throw new StreamInputError(promptProblem);
    const stream: Running = {
      id,
      url: displayUrl,
      source,
      state: 'connecting',
      seq: this.store.lastSeq(id),
      counters: newCounters(),
      captioner: name,
      outputs: new BehaviorSubject<readonly string[]>([]),
      ...(prompt !== undefined && { prompt }),
    };
    this.streams.set(id, stream);
    log.info('stream added', { stream: id, url: displayUrl, captioner: name });
    // Each stream's heartbeat keyframes in a phase of their own, so streams started together
    // do not all ask the captioner at once.
    const gate = { heartbeatPhase: heartbeatPhase(this.added++), ...this.options.pipeline.gate };
    const onFrame = (frame: RawFrame) => {
      stream.latestFrame = frame;
    };
    const supervisor = { ...this.options.pipeline.supervisor, extraOutputs: stream.outputs };
    stream.subscription = streamPipeline(source, captioner, { ...this.options.pipeline, supervisor, gate, streamId: id, captionerName: name, prompt, onFrame }, stream.counters).subscribe({
      next: (event) => {
        if (event.type === 'status') {
          stream.state = event.state;
          stream.error = event.error;
          stream.note = event.note;
          if (event.state !== 'live') this.options.alerts?.streamStopped(id);
          if (event.state === 'reconnecting') stream.live?.sourceFailed(event.error ?? 'ffmpeg stopped');
          if (event.state === 'live') log.info('stream live', { stream: id });
          else log.warn(`stream ${event.state}`, { stream: id, error: event.error, retryInMs: event.retryInMs });
          this.emit({ stream: id, ...event } satisfies StatusMessage);
        } else {
          // Update state before emitting: a listener may read it back.
          const seq = ++stream.seq;
          const made = sequencedMessage(id, seq, event);
          const { jpeg } = made;
          let { message } = made;
          const recorded = this.record(stream, message, jpeg);
          if (recorded === 'held back') {
            stream.seq--;
            return;
          }
          // Sent live but not kept: its keyframe could not be stored either.
          if (recorded === 'not kept' && message.type === 'caption') message = { ...message, keyframeUrl: undefined };
          this.emit(message);
          if (message.type !== 'alert') this.raiseAlerts(stream, message);
        }
      },
      error: (err: Error) => {
        this.options.alerts?.streamStopped(id);
        if (err instanceof SourceFinished) {
          // A file played once: the stream is over, nothing failed.
          stream.state = 'stopped';
          stream.note = undefined;
          stream.error = undefined;
          log.info('stream ended', { stream: id, reason: err.message });
          this.emit({ type: 'status', stream: id, state: 'stopped' });
          return;
        }
        stream.state = 'stopped';
        stream.note = undefined;
        stream.error = err.message;
        log.error('stream pipeline failed', { stream: id, error: err.message });
        this.emit({ type: 'status', stream: id, state: 'stopped', error: err.message });
      },
    });
    return this.info(stream);
  }

  /** The alerts rules raise for a caption or summary: each one in history with its own seq, then sent, as any event. */
  private raiseAlerts(stream: Running, matched: CaptionMessage | SummaryMessage): void {
    const rules = this.options.alerts;
    if (!rules) return;
    const fired = rules.evaluate({ type: matched.type, stream: stream.id, text: matched.text, outOfDomain: matched.type === 'caption' ? matched.outOfDomain : undefined });
    for (const rule of fired) {
      const alert = alertMessage(matched, ++stream.seq, rule);
      if (this.record(stream, alert) === 'held back') {
        stream.seq--;
        continue;
      }
      rules.alerted(rule.rule, stream.id, alert.seq, alert.ts);
      log.info('alert', { stream: stream.id, rule: rule.rule, seq: alert.seq, text: alert.text });
      this.emit(alert);
    }
  }

  /** Writes an event (and a caption's keyframe) to history before it is sent; or says why not (see the header). */
  private record(stream: Running, message: SequencedMessage, keyframe?: Uint8Array): 'kept' | 'not kept' | 'held back' {
    try {
      this.store.append(message, keyframe);
      if (stream.degraded) log.info('history store: writing again', { stream: stream.id, seq: message.seq });
      stream.degraded = undefined;
      return 'kept';
    } catch (err) {
      this.historyWrites.failures++;
      const why = (err as Error).message;
      const first = !stream.degraded;
      let covered = true;
      try {
        this.store.coverSeq(stream.id, message.seq);
      } catch {
        covered = false;
        this.historyWrites.heldBack++;
      }
      stream.degraded = `history: cannot write (${why}); ${covered ? 'events are sent live but not kept' : 'events are held back until it can'}`;
      // Once per failing spell, not once per event: the count is in /metrics.
      if (first) log.error('history store: cannot write events', { stream: stream.id, seq: message.seq, error: why, degraded: stream.degraded });
      return covered ? 'not kept' : 'held back';
    }
  }

  /**
   * Adds a stream as `add` does and saves it, so that it comes back after a restart (for streams
   * added over the API). If it cannot be saved it is not added.
   */
  create({ id, url, captioner, prompt }: StreamRequest): StreamInfo {
    this.add(id, url, captioner, prompt);
    const stream = this.streams.get(id)!;
    try {
      this.store.saveStream({ id: stream.id, url, captioner, prompt: stream.prompt });
    } catch (err) {
      this.remove(stream.id);
      throw new StreamStoreError(`stream '${stream.id}' was not added: the history store cannot save it (${(err as Error).message})`);
    }
    stream.saved = true;
    return this.info(stream);
  }

  /** Stops a stream and, if it was saved, removes it for good; false if there was none. */
  forget(id: string): boolean {
    if (!this.streams.has(id)) return false;
    try {
      this.store.forgetStream(id);
    } catch (err) {
      // Still saved: stopping it now would bring it back at the next start, unasked.
      throw new StreamStoreError(`stream '${id}' was not removed: the history store cannot forget it (${(err as Error).message})`);
    }
    return this.remove(id);
  }

  /**
   * Starts the streams saved by `create` before a restart. A saved stream whose id is taken (by a
   * configured source) or that cannot start now (its captioner is no longer loaded, say) is
   * logged and stays saved. Returns the ids started.
   */
  restore(): string[] {
    const started: string[] = [];
    for (const saved of this.store.savedStreams()) {
      if (this.streams.has(saved.id)) {
        log.warn('saved stream not started: a configured stream has its id', { stream: saved.id });
        continue;
      }
      try {
        this.add(saved.id, saved.url, saved.captioner, saved.prompt);
        this.streams.get(saved.id)!.saved = true;
        started.push(saved.id);
      } catch (err) {
        log.error('saved stream cannot start', { stream: saved.id, error: (err as Error).message });
      }
    }
    return started;
  }

  /** The streams whose history is not being written, and why. */
  degraded(): { stream: string; reason: string }[] {
    return [...this.streams.values()].filter((s) => s.degraded).map((s) => ({ stream: s.id, reason: s.degraded! }));
  }

  /** Stops a stream (it stays saved, if it was); false if there was none. */
  remove(id: string): boolean {
    const stream = this.streams.get(id);
    if (!stream) return false;
    this.streams.delete(id);
    stream.subscription?.unsubscribe();
    if (stream.live) {
      const closing = stream.live.close();
      this.closing.add(closing);
      void closing.finally(() => this.closing.delete(closing));
    }
    this.options.alerts?.streamStopped(id);
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
   * Starts a replay of everything after `since` for a subscriber (see replay.ts): the newest
   * events that fit the limits and the connection's allowance, a gap first for the rest.
   */
  replay(id: string, since: number, limits: Pick<ReplayLimits, 'maxEvents' | 'maxBytes' | 'chunkRows'>, allowance?: { events: number; bytes: number }, stop?: () => boolean): PendingReplay {
    return startReplay(this.store, id, since, limits, allowance, stop);
  }

  keyframe(id: string, seq: number): Buffer | undefined {
    return this.store.keyframe(id, seq);
  }

  latestFrame(id: string): RawFrame | undefined {
    return this.streams.get(id)?.latestFrame;
  }

  /** A stream's live video, made while someone watches (live-video.ts); undefined if there is no such stream. */
  liveVideo(id: string): LiveVideo | undefined {
    const stream = this.streams.get(id);
    if (!stream || this.closed) return undefined;
    stream.live ??= new LiveVideo(
      {
        stream: id,
        setOutputs: (args) => stream.outputs.next(args),
        probe: () => probeVideo(stream.source, { ...SUPERVISOR_DEFAULTS, ...this.options.pipeline.supervisor }),
        captions: (from, to) => this.store.captionTimes(id, from, to, 2000),
        summaries: (from, to) => this.store.between(id, from, to, 2000).filter((m): m is SummaryMessage & { seq: number } => m.type === 'summary'),
        notLive: () => (stream.state === 'live' ? undefined : `it is ${stream.state}${stream.error ? ` (${stream.error})` : ''}`),
        refusal: () => {
          const max = (this.options.liveVideo ?? LIVE_VIDEO_DEFAULTS).maxStreams;
          const running = [...this.streams.values()].filter((s) => s.live?.running).length;
          return running >= max ? `live video already runs for ${running} streams, the most at once (liveVideo.maxStreams); try again once one is no longer watched` : undefined;
        },
      },
      this.options.liveVideo ?? LIVE_VIDEO_DEFAULTS,
    );
    return stream.live;
  }

  /** The current status of a stream as a message, for a new subscriber. */
  status(id: string): StatusMessage | undefined {
    const s = this.streams.get(id);
    if (!s || s.state === 'connecting') return undefined;
    return { type: 'status', stream: id, state: s.state, error: s.error, note: s.note };
  }

  private info(s: Running): StreamInfo {
    return {
      id: s.id,
      url: s.url,
      kind: s.source.kind,
      state: s.state,
      error: s.error,
      note: s.note,
      lastSeq: s.seq,
      counters: { ...s.counters },
      captioner: s.captioner,
      prompt: s.prompt,
      summaries: this.options.pipeline.summary !== undefined,
      degraded: s.degraded,
      saved: s.saved,
    };
  }

  /** Stops every stream; resolves once their live video folders are gone. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const id of [...this.streams.keys()]) this.remove(id);
      if (this.ownsStore) this.store.close();
    }
    await Promise.all(this.closing);
  }
}
