/**
 * One stream's pipeline, as a composition of operators (pipeline/operators/, one per file):
 *
 *   supervised source ─┬─ statuses ───────────────────────────────────────────────┐
 *                      └─ frames ─ sceneGate ─ captionKeyframes ─┬────────────────┤ steps ─ streamEvents → events
 *                                                                └─ summarizeCaptions ┘
 *
 * Everything that happens is a step (steps.ts) in one stream, in the order it happened: the
 * source's state, frames, keyframes, captions (made, failed, dropped), summaries. The public
 * events are derived from the steps by `streamEvents` (which also keeps the status and its
 * notes), and the counters by `countStep`, each in one place. The models are functions.
 * Cold: subscribing starts ffmpeg, unsubscribing stops it; each subscription has its own gate
 * and state.
 */
import { defer, filter, map, merge, connect, tap, type Observable, type ObservableInput } from 'rxjs';
import type { Source } from '../ingest/source.js';
import type { OutputSpec } from '../ingest/ffmpeg-args.js';
import type { RawFrame } from '../ingest/ffmpeg-frames.js';
import { supervisedSource, type SourceEvent, type SupervisorOptions } from '../ingest/supervised-source.js';
import type { SceneGateOptions } from './scene-gate.js';
import { sceneGate } from './operators/scene-gate.js';
import { alongside } from './operators/alongside.js';
import { captionKeyframes } from './operators/caption-keyframes.js';
import { summarizeCaptions } from './operators/summarize-captions.js';
import { streamEvents } from './operators/stream-events.js';
import { countStep, newCounters, type PipelineCounters, type Step } from './steps.js';
import { encodeJpeg } from '../media/image.js';
import { log } from '../util/log.js';
import type { Frame } from '../core/frame.js';
import type { Caption, Captioner, Summarizer } from '../core/caption.js';
import type { PipelineEvent } from '../core/events.js';

export { newCounters, type PipelineCounters };

export interface SummaryOptions {
  summarizer: Summarizer;
  /** Captions of the last `windowMs` are summarized every `hopMs`. */
  windowMs: number;
  hopMs: number;
}

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
  /** Hears of every frame analysed, as it arrives (the latest is the stream's snapshot); must be cheap. */
  onFrame?: (frame: RawFrame) => void;
}

/** The stream of a source: ffmpeg supervised (ingest/supervised-source.ts), then `captionStream`. */
export function streamPipeline(source: Source, captioner: Captioner, options: PipelineOptions, counters: PipelineCounters = newCounters()): Observable<PipelineEvent> {
  return defer(() => captionStream(supervisedSource(source, options.output, options.supervisor), (frame) => captioner.caption(frame, captionOptionsOf(options)), options, counters));
}

const captionOptionsOf = (options: PipelineOptions) => (options.prompt === undefined ? undefined : { prompt: options.prompt });

/**
 * A source's events (frames and statuses) to a stream's events. The captioner is a function
 * (a promise or an observable of the caption), which is how the tests drive it in virtual time.
 */
export function captionStream(
  sourceEvents: Observable<SourceEvent>,
  caption: (frame: RawFrame) => ObservableInput<Caption>,
  options: Omit<PipelineOptions, 'output' | 'supervisor'>,
  counters: PipelineCounters = newCounters(),
): Observable<PipelineEvent> {
  const made = options.thumbnail ?? ((frame: Frame) => Promise.resolve(`data:image/jpeg;base64,${encodeJpeg(frame, 80).toString('base64')}`));
  // A caption without its picture is still worth sending.
  const thumbnail =
    options.thumbnails === false
      ? undefined
      : (frame: Frame) =>
          made(frame).catch((err: Error) => {
            log.warn('thumbnail failed', { stream: options.streamId, error: err.message });
            return undefined;
          });
  return defer(() => {
    // The first frame's capture time, so the gate's times are exact differences of capture
    // times (a clock read at subscription added a rounding that could move a frame across the
    // minimum scene length).
    let origin: number | undefined;
    const onFrame = options.onFrame;
    const frameSteps = (frames: Observable<RawFrame>): Observable<Step> =>
      (onFrame ? frames.pipe(tap(onFrame)) : frames).pipe(
        alongside(
          (): Step => ({ type: 'frame' }),
          (each) =>
            each.pipe(
              // Wall-clock seconds: monotonic across ffmpeg restarts, unlike each process's own pts.
              sceneGate<RawFrame>(options.gate, (frame) => (frame.capturedAt - (origin ??= frame.capturedAt)) / 1000),
              alongside((): Step => ({ type: 'keyframe' }), captionKeyframes<RawFrame>(caption, { thumbnail, capturedAt: (frame) => frame.capturedAt })),
            ),
        ),
      );
    const summary = options.summary;
    return sourceEvents.pipe(
      connect((events) =>
        merge(
          events.pipe(
            filter((e): e is Extract<SourceEvent, { type: 'status' }> => e.type === 'status'),
            map((e): Step => ({ type: 'source', report: e.report })),
          ),
          frameSteps(
            events.pipe(
              filter((e): e is Extract<SourceEvent, { type: 'frame' }> => e.type === 'frame'),
              map((e) => e.frame),
            ),
          ),
        ),
      ),
      connect((steps) =>
        summary
          ? merge(
              steps,
              steps.pipe(
                filter((s): s is Extract<Step, { type: 'captioned' }> => s.type === 'captioned' && !s.repeat),
                map((s) => ({ text: s.caption.text })),
                summarizeCaptions((captions) => summary.summarizer.summarize(captions), { windowMs: summary.windowMs, hopMs: summary.hopMs }),
              ),
            )
          : steps,
      ),
      tap((step) => countStep(counters, step)),
      streamEvents({ streamId: options.streamId, captionerName: options.captionerName }),
    );
  });
}
