/**
 * One stream's pipeline: supervised ffmpeg frames → scene gate → latest-wins captioning →
 * caption events, with status events for the source's state (and, while the stream is live, a
 * note in `error` when a model missed its deadline or its model server failed a caption,
 * cleared once it answers). A stream whose keyframes are mostly beyond what its captioner knows
 * gets a `note` on its status saying so and how to bring a real model (domain-watch.ts), once,
 * until it recovers. Cold: subscribing starts ffmpeg, unsubscribing stops it.
 * Per-subscription state (the gate, counters) lives inside.
 */
import { Observable, EMPTY, catchError, defer, distinctUntilChanged, filter, from, map, merge, share, Subject, tap } from 'rxjs';
import type { Source } from '../ingest/source.js';
import type { OutputSpec } from '../ingest/ffmpeg-args.js';
import type { RawFrame } from '../ingest/ffmpeg-frames.js';
import { supervisedFrames, type StatusReport, type SupervisorOptions } from '../ingest/supervised-source.js';
import { SceneGate, type GateDecision, type KeyframeReason, type SceneGateOptions } from './scene-gate.js';
import { latestWins } from './latest-wins.js';
import { rollingWindow } from './rolling-window.js';
import { DomainWatch, outOfDomainNote } from './domain-watch.js';
import { encodeJpeg, type Frame } from '../media/image.js';
import type { Caption, CaptionOptions } from '../models/captioner/captioner.js';
import { log } from '../util/log.js';

export type StreamState = 'live' | 'reconnecting' | 'stalled' | 'stopped';

export interface CaptionEvent {
  type: 'caption';
  text: string;
  /** Wall-clock ms when the keyframe was captured. */
  frameTs: number;
  /** Capture → caption, in ms. */
  latencyMs: number;
  reason: KeyframeReason;
  /** The keyframe as a small JPEG data URL. */
  keyframe?: string;
  /** The keyframe lies beyond what the captioner knows (absent when it cannot tell). */
  outOfDomain?: boolean;
}

export interface StatusEvent {
  type: 'status';
  state: StreamState;
  error?: string;
  retryInMs?: number;
  /** Advice while the stream is live: its captioner does not recognise its scenes. */
  note?: string;
}

/** A video caption: the summary of the captions of a rolling window. */
export interface SummaryEvent {
  type: 'summary';
  text: string;
  /** The window's time range (ms since the epoch). */
  from: number;
  to: number;
}

export type PipelineEvent = CaptionEvent | StatusEvent | SummaryEvent;

export interface Summarizer {
  summarize(captions: readonly string[]): Promise<{ text: string }>;
}

export interface SummaryOptions {
  summarizer: Summarizer;
  /** Captions of the last `windowMs` are summarized every `hopMs`. */
  windowMs: number;
  hopMs: number;
}

export interface Captioner {
  caption(frame: Frame, options?: CaptionOptions): Promise<Caption>;
  /** Whether it takes a prompt per caption (Florence-2, a model server); a stream's prompt needs one that does. */
  readonly takesPrompt?: boolean;
  /** What is wrong with a prompt for this captioner (a Florence-2 task that answers with boxes), if anything. */
  promptProblem?(prompt: string): string | undefined;
}

export interface PipelineCounters {
  frames: number;
  keyframes: number;
  captions: number;
  dropped: number;
  reconnects: number;
  stalls: number;
}

export const newCounters = (): PipelineCounters => ({ frames: 0, keyframes: 0, captions: 0, dropped: 0, reconnects: 0, stalls: 0 });

export interface PipelineOptions {
  output: OutputSpec;
  gate?: Partial<SceneGateOptions>;
  supervisor?: Partial<SupervisorOptions>;
  /** Attach keyframe thumbnails to captions (default true). */
  thumbnails?: boolean;
  /**
   * Makes a keyframe's thumbnail (a JPEG data URL) off the event loop, e.g. a `Thumbnailer`;
   * without one it is encoded here, on the event loop.
   */
  thumbnail?: (frame: Frame) => Promise<string>;
  /** For logs. */
  streamId?: string;
  /** The captioner's name, for the note on a stream it does not recognise. */
  captionerName?: string;
  /** The stream's own prompt for its captioner (a Florence-2 task, a model server's prompt). */
  prompt?: string;
  /** Video captions over a rolling window; none when absent. */
  summary?: SummaryOptions;
}

export function statusEvent(report: StatusReport): StatusEvent | undefined {
  if (report.state === 'connecting') return undefined;
  if (report.state === 'live') return { type: 'status', state: 'live' };
  return {
    type: 'status',
    state: report.error?.reason === 'stalled' ? 'stalled' : 'reconnecting',
    error: report.error?.message,
    retryInMs: report.retryInMs,
  };
}

export function streamPipeline(source: Source, captioner: Captioner, options: PipelineOptions, counters: PipelineCounters = newCounters()): Observable<PipelineEvent> {
  return defer(() => {
    const gate = new SceneGate(options.gate);
    const statuses = new Subject<StatusEvent>();
    const startedAt = Date.now();
    let sourceLive = false;
    // A model that missed its deadline (its worker was replaced) is a note on a live stream's
    // status until that model answers again; only the model that set it clears it.
    let modelNote: { by: 'captioner' | 'summarizer'; error: string } | undefined;
    // Advice on a live stream whose keyframes are mostly beyond its captioner.
    const domainWatch = new DomainWatch();
    let domainNote: string | undefined;
    const liveStatus = (): StatusEvent => ({ type: 'status', state: 'live', ...(modelNote && { error: modelNote.error }), ...(domainNote && { note: domainNote }) });
    const onStatus = (report: StatusReport) => {
      const event = statusEvent(report);
      if (!event) return;
      if (event.state === 'reconnecting') counters.reconnects++;
      if (event.state === 'stalled') {
        counters.stalls++;
        counters.reconnects++;
      }
      sourceLive = event.state === 'live';
      statuses.next(sourceLive ? liveStatus() : event);
    };
    const captionedKeyframe = (outOfDomain: boolean | undefined) => {
      const change = domainWatch.push(outOfDomain);
      if (!change) return;
      const captionerName = options.captionerName ?? 'captioner';
      if (change.entered) {
        domainNote = outOfDomainNote(captionerName, change);
        log.warn(domainNote, { stream: options.streamId, captioner: captionerName });
      } else {
        domainNote = undefined;
        log.info('stream scenes recognised by its captioner again', { stream: options.streamId, captioner: captionerName });
      }
      if (sourceLive) statuses.next(liveStatus());
    };
    const modelFailed = (by: 'captioner' | 'summarizer', err: Error) => {
      // A stuck model (replaced), a model worker gone for good, or a model server that did not
      // caption (no answer in time, an error status); not a bad input.
      if (err.name !== 'ModelTimeoutError' && err.name !== 'ModelWorkerError' && err.name !== 'ModelServerError') return;
      if (modelNote?.error === err.message) return;
      modelNote = { by, error: err.message };
      if (sourceLive) statuses.next(liveStatus());
    };
    const modelAnswered = (by: 'captioner' | 'summarizer') => {
      if (modelNote?.by !== by) return;
      modelNote = undefined;
      if (sourceLive) statuses.next(liveStatus());
    };
    const thumbnailOf = (frame: Frame): Promise<string | undefined> => {
      if (options.thumbnails === false) return Promise.resolve(undefined);
      const made = options.thumbnail ? options.thumbnail(frame) : Promise.resolve(`data:image/jpeg;base64,${encodeJpeg(frame, 80).toString('base64')}`);
      // A caption without its picture is still worth sending.
      return made.catch((err: Error) => {
        log.warn('thumbnail failed', { stream: options.streamId, error: err.message });
        return undefined;
      });
    };
    const captions = supervisedFrames(source, options.output, onStatus, options.supervisor).pipe(
      tap(() => counters.frames++),
      // Wall-clock seconds: monotonic across ffmpeg restarts, unlike each process's own pts.
      map((frame) => ({ frame, decision: gate.push({ ...frame, pts: (frame.capturedAt - startedAt) / 1000 }) })),
      filter((k): k is { frame: RawFrame; decision: GateDecision } => k.decision !== undefined),
      tap(() => counters.keyframes++),
      latestWins(
        (k) =>
          // The thumbnail is made while the model captions, so it adds no latency.
          from(Promise.all([captioner.caption(k.frame, options.prompt === undefined ? undefined : { prompt: options.prompt }).then((caption) => ({ caption, latencyMs: Date.now() - k.frame.capturedAt })), thumbnailOf(k.frame)])).pipe(
            map(([{ caption, latencyMs }, thumbnail]) => ({ caption, keyframe: k, thumbnail, latencyMs })),
            tap(() => modelAnswered('captioner')),
            // One failed caption must not end the stream.
            catchError((err: Error) => {
              log.warn('caption failed', { stream: options.streamId, error: err.message, kind: err.name });
              modelFailed('captioner', err);
              return EMPTY;
            }),
          ),
        () => counters.dropped++,
      ),
    ).pipe(
      // Every captioned keyframe counts, also those whose caption repeats the last one.
      tap(({ caption }) => captionedKeyframe(caption.outOfDomain)),
      distinctUntilChanged((a, b) => a.caption.text === b.caption.text && a.caption.outOfDomain === b.caption.outOfDomain),
      map(
        ({ caption, keyframe: k, thumbnail, latencyMs }): CaptionEvent => ({
          type: 'caption',
          text: caption.text,
          frameTs: k.frame.capturedAt,
          latencyMs,
          reason: k.decision.reason,
          keyframe: thumbnail,
          ...(caption.outOfDomain !== undefined && { outOfDomain: caption.outOfDomain }),
        }),
      ),
      tap(() => counters.captions++),
      share(),
    );
    const summary = options.summary;
    const summaries = summary
      ? captions.pipe(
          rollingWindow({ windowMs: summary.windowMs, hopMs: summary.hopMs }),
          // A window that waits while the summarizer is busy is replaced by the next one.
          latestWins((w) =>
            from(summary.summarizer.summarize(w.captions)).pipe(
              map((s): SummaryEvent => ({ type: 'summary', text: s.text, from: w.from, to: w.to })),
              tap(() => modelAnswered('summarizer')),
              catchError((err: Error) => {
                log.warn('summary failed', { stream: options.streamId, error: err.message, kind: err.name });
                modelFailed('summarizer', err);
                return EMPTY;
              }),
            ),
          ),
          filter((s) => s.text.length > 0),
        )
      : EMPTY;
    return merge(statuses, captions, summaries);
  });
}
