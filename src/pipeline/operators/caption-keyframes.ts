/**
 * Keyframes in, captions out: the model is a function, called on one keyframe at a time; while
 * it works only the newest keyframe waits (`latestWins`), and each one displaced is a `dropped`
 * step. A failed caption is a `caption-failed` step, not the end of the stream. A caption that
 * says what the one before it said is marked as a repeat.
 */
import { Observable, catchError, forkJoin, from, map, of, type ObservableInput, type OperatorFunction } from 'rxjs';
import { latestWins } from './latest-wins.js';
import type { Keyframe } from './scene-gate.js';
import type { Caption } from '../../core/caption.js';
import type { Step } from '../steps.js';

export interface CaptionKeyframesOptions<F> {
  /** Makes the keyframe's thumbnail while the model captions (a failure leaves it out). */
  thumbnail?: (frame: F) => ObservableInput<string | undefined>;
  /** When the frame was captured (ms since the epoch). */
  capturedAt: (frame: F) => number;
  now?: () => number;
}

type CaptionStep = Extract<Step, { type: 'captioned' | 'caption-failed' | 'dropped' }>;

export function captionKeyframes<F>(caption: (frame: F) => ObservableInput<Caption>, options: CaptionKeyframesOptions<F>): OperatorFunction<Keyframe<F>, CaptionStep> {
  const now = options.now ?? Date.now;
  return (keyframes) =>
    new Observable<CaptionStep>((subscriber) => {
      let last: Caption | undefined;
      const work = (k: Keyframe<F>): Observable<CaptionStep> => {
        const capturedAt = options.capturedAt(k.frame);
        const thumbnail = options.thumbnail ? from(options.thumbnail(k.frame)).pipe(catchError(() => of(undefined))) : of(undefined);
        // The thumbnail is made while the model captions, so it adds no latency.
        const captioned = from(caption(k.frame)).pipe(map((c) => ({ c, latencyMs: now() - capturedAt })));
        return forkJoin([captioned, thumbnail]).pipe(
          map(([{ c, latencyMs }, thumb]): CaptionStep => {
            const repeat = last !== undefined && last.text === c.text && last.outOfDomain === c.outOfDomain;
            last = c;
            return { type: 'captioned', caption: c, frameTs: capturedAt, reason: k.decision.reason, latencyMs, repeat, ...(thumb !== undefined && { thumbnail: thumb }) };
          }),
          catchError((error: Error) => of<CaptionStep>({ type: 'caption-failed', error })),
        );
      };
      return keyframes.pipe(latestWins(work, () => subscriber.next({ type: 'dropped' }))).subscribe(subscriber);
    });
}
