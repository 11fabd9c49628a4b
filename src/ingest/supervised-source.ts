/**
 * A source that keeps itself alive: ffmpeg is restarted after any failure with exponential
 * backoff (about 1 s doubling to a cap near 60 s, with jitter), the attempt count resets once
 * the source has been healthy for a while, and a frame-age watchdog treats a source that
 * stops delivering frames as failed. Its state changes travel in the same stream as its frames
 * (`SourceEvent`), in the order they happened: `connecting`, then `live` just before the first
 * frame, `reconnecting` (with the error and the delay) before each wait.
 *
 * HTTP sources are read once first (hls-check.ts): a master playlist that would make
 * ffmpeg request without end is refused, and after a stall an HLS source is restarted only
 * once its playlist has changed, so a dead publisher's last segments are not played again as
 * new: the stream stays `stalled` until the publisher is back.
 *
 * A file played once (`?loop=false`) is the one source meant to end: at its end the frames
 * fail with SourceFinished, which is not retried, and the stream stops.
 */
import { type Observable, catchError, concat, concatWith, defer, distinctUntilChanged, from, mergeMap, of, repeat, switchMap, timer, timeout, throwError } from 'rxjs';
import { checkCertificate } from './tls-check.js';
import { probeHttpSource } from './hls-check.js';
import { ffmpegArgs, type ArgOptions, type OutputSpec, INGEST_DEFAULTS } from './ffmpeg-args.js';
import { ffmpegFrames, type ProcessOptions, type RawFrame } from './ffmpeg-frames.js';
import { IngestError } from './ffmpeg-errors.js';
import type { Source } from './source.js';
import { urlSecrets } from '../util/redact.js';

export type SourceState = 'connecting' | 'live' | 'reconnecting';

export interface SupervisorOptions extends ArgOptions, ProcessOptions {
  /** No first frame within this many ms of starting ffmpeg: failed. */
  connectTimeoutMs: number;
  /** No frame for this many ms while live: stalled. */
  stallTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Live this long and the backoff starts from the beginning again. */
  healthyAfterMs: number;
  /**
   * More outputs for ffmpeg (ffmpeg arguments after the frames' own): live video while someone
   * watches. A new value restarts ffmpeg with them at once, as a planned change, not a failure:
   * no status, no backoff; the next process starts once the last has gone (a webcam is free).
   */
  extraOutputs?: Observable<readonly string[]>;
}

export const SUPERVISOR_DEFAULTS: SupervisorOptions = {
  ...INGEST_DEFAULTS,
  connectTimeoutMs: 20_000,
  stallTimeoutMs: 10_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  healthyAfterMs: 30_000,
};

/** A source that ended as it should (a file played once): not a failure, and not retried. */
export class SourceFinished extends Error {
  override name = 'SourceFinished';
  constructor() {
    super('the file played to its end (loop=false)');
  }
}

export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * When to try again: each failure in a row waits twice as long (to a cap, with jitter), and a
 * source that has been live for `healthyAfterMs` starts from the first delay again.
 */
export class Backoff {
  private attempt = 0;
  private liveSince: number | undefined;

  constructor(
    private readonly options: Pick<SupervisorOptions, 'backoffInitialMs' | 'backoffMaxMs' | 'healthyAfterMs'>,
    private readonly random = Math.random,
  ) {}

  /** A frame arrived at `at` (ms); the first since a failure starts the healthy period. */
  frame(at: number): void {
    this.liveSince ??= at;
    if (this.attempt > 0 && at - this.liveSince >= this.options.healthyAfterMs) this.attempt = 0;
  }

  /** The source failed: how long to wait before the next attempt, in ms. */
  failed(): number {
    this.attempt++;
    this.liveSince = undefined;
    return backoffDelay(this.attempt, this.options.backoffInitialMs, this.options.backoffMaxMs, this.random);
  }
}

/** Where an RTSPS source's TLS server is, when its certificate is to be checked. */
function rtspsTarget(source: Source): { host: string; port: number } | undefined {
  if (source.kind !== 'rtsp' || source.tlsVerify === false || !source.input.startsWith('rtsps:')) return undefined;
  const url = new URL(source.input);
  return { host: url.hostname, port: Number(url.port || 322) };
}

export interface StatusReport {
  state: SourceState;
  error?: IngestError;
  /** Milliseconds until the next attempt, when reconnecting. */
  retryInMs?: number;
}

/** What a supervised source emits: its frames, and its state changes between them. */
export type SourceEvent = { type: 'frame'; frame: RawFrame } | { type: 'status'; report: StatusReport };

export function supervisedSource(source: Source, output: OutputSpec, options: Partial<SupervisorOptions> = {}): Observable<SourceEvent> {
  const o = { ...SUPERVISOR_DEFAULTS, ...options };
  // ffmpeg's messages may quote the URL in forms redactText does not recognise.
  const secrets = urlSecrets(source.input);
  const probe = source.kind === 'http' ? () => probeHttpSource(source.input, { timeoutMs: o.readTimeoutMs, tlsVerify: source.tlsVerify, caFile: o.caFile }) : undefined;
  const ended = () => (source.kind === 'file' && source.loop === false ? new SourceFinished() : new IngestError('ended', 'the source ended'));
  return defer(() => {
    const backoff = new Backoff(o);
    // When the last ffmpeg stopped on purpose has exited: the next waits for it.
    let previousGone: Promise<void> = Promise.resolve();
    const run = (args: readonly string[]) =>
      from(previousGone).pipe(
        switchMap(() =>
          ffmpegFrames(args, output, {
            ...o,
            onStop: (exited) => {
              previousGone = exited;
              o.onStop?.(exited);
            },
          }),
        ),
        // A live source that ends is a failure too: cameras do not end.
        concatWith(throwError(ended)),
      );
    let live = false;
    // What the HLS playlist listed when the source stalled; set until it lists something else.
    let stalledListing: string | undefined;
    // The delay before the next attempt, set when one fails.
    let waitMs = 0;
    let waitFor: Observable<unknown> = of(0);
    const attemptOnce = defer(() => {
      live = false;
      const frames = (arrivalTimestamps?: boolean) => {
        const args = ffmpegArgs(source, output, { ...o, arrivalTimestamps });
        return (o.extraOutputs ?? of([])).pipe(
          distinctUntilChanged((a, b) => a.join('\0') === b.join('\0')),
          switchMap((extra) => run([...args, ...extra])),
        );
      };
      const tls = rtspsTarget(source);
      // ffmpeg cannot verify RTSPS itself (tls-check.ts): check the certificate before each connect.
      if (tls) return from(checkCertificate(tls.host, tls.port, { caFile: o.caFile, timeoutMs: o.readTimeoutMs })).pipe(switchMap(() => frames()));
      if (!probe) return frames();
      return from(probe()).pipe(
        switchMap((seen) => {
          if (seen?.listing !== undefined && seen.listing === stalledListing)
            throw new IngestError('stalled', 'the HLS playlist has not changed since the stream stalled: its publisher seems to have stopped');
          stalledListing = undefined;
          // MJPEG says so in its content type, whatever its URL looks like.
          return frames(seen?.contentType ? /multipart\/x-mixed-replace/i.test(seen.contentType) : undefined);
        }),
      );
    }).pipe(
      timeout({
        first: o.connectTimeoutMs,
        each: o.stallTimeoutMs,
        with: () =>
          throwError(() => new IngestError(live ? 'stalled' : 'timed out', live ? `no frame for ${o.stallTimeoutMs / 1000} s` : `no frame within ${o.connectTimeoutMs / 1000} s of starting`)),
      }),
      mergeMap((frame: RawFrame): SourceEvent[] => {
        const event: SourceEvent = { type: 'frame', frame };
        backoff.frame(frame.capturedAt);
        if (live) return [event];
        live = true;
        return [{ type: 'status', report: { state: 'live' } }, event];
      }),
      // A failed attempt ends with its status; `repeat` starts the next one after the wait.
      catchError((err: unknown) => {
        if (err instanceof SourceFinished) return throwError(() => err);
        const error = (err instanceof IngestError ? err : new IngestError('failed', err instanceof Error ? err.message : String(err))).withoutSecrets(secrets);
        waitMs = backoff.failed();
        waitFor =
          error.reason === 'stalled' && probe && stalledListing === undefined
            ? // Note what the playlist lists now; a restart waits until that changes.
              from(probe().catch(() => undefined)).pipe(switchMap((seen) => ((stalledListing = seen?.listing), timer(waitMs))))
            : timer(waitMs);
        return of<SourceEvent>({ type: 'status', report: { state: 'reconnecting', error, retryInMs: waitMs } });
      }),
      repeat({ delay: () => waitFor }),
    );
    return concat(of<SourceEvent>({ type: 'status', report: { state: 'connecting' } }), attemptOnce);
  });
}
