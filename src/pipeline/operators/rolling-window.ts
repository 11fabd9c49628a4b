/**
 * `rollingWindow({ windowMs, hopMs })`: every hop, the captions of the last `windowMs`, with
 * repeats and near-repeats collapsed, ready to be summarized. This is what turns a stream of
 * frame captions into the input of a video caption ("every 15 s, the last 60 s").
 *
 * - A window is emitted only if a caption arrived since the previous one, so a still scene does
 *   not make the summarizer redo the same work.
 * - Consecutive captions that say the same thing (the same words, ignoring case, punctuation
 *   and small words, or nearly the same: word-set overlap ≥ `similarity`) are kept once.
 * - When the source completes, a last window covering what is new is emitted first.
 * Times come from the scheduler, so the operator runs on virtual time in marble tests.
 */
import { asyncScheduler, interval, Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';

export interface CaptionWindow {
  /** Start of the window: the earliest caption in it (ms, scheduler time). */
  from: number;
  /** End of the window: when it was cut (ms, scheduler time). */
  to: number;
  /** The captions, oldest first, repeats collapsed. */
  captions: string[];
}

export interface RollingWindowOptions {
  windowMs: number;
  hopMs: number;
  /** Word-set overlap (Jaccard) at which two captions count as the same (default 0.8). */
  similarity?: number;
  scheduler?: SchedulerLike;
}

const SMALL_WORDS = new Set(['a', 'an', 'the', 'of', 'on', 'in', 'at', 'is', 'are', 'and', 'with', 'to']);

function words(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w && !SMALL_WORDS.has(w)),
  );
}

/** Jaccard overlap of the two captions' content words (1 when both have none). */
export function captionSimilarity(a: string, b: string): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.size === 0 && wb.size === 0) return 1;
  let shared = 0;
  for (const w of wa) if (wb.has(w)) shared++;
  return shared / (wa.size + wb.size - shared);
}

/** Drops each caption that repeats the one kept before it. */
export function collapseRepeats(captions: readonly string[], similarity = 0.8): string[] {
  const kept: string[] = [];
  for (const c of captions) {
    const text = c.trim();
    if (!text) continue;
    if (kept.length && captionSimilarity(kept.at(-1)!, text) >= similarity) continue;
    kept.push(text);
  }
  return kept;
}

export function rollingWindow<T extends { text: string }>(options: RollingWindowOptions): OperatorFunction<T, CaptionWindow> {
  const { windowMs, hopMs, similarity = 0.8, scheduler = asyncScheduler } = options;
  if (!(windowMs > 0) || !(hopMs > 0)) throw new Error(`rolling window: window and hop must be positive (got ${windowMs} ms, ${hopMs} ms)`);
  return (source) =>
    new Observable<CaptionWindow>((subscriber) => {
      const buffer: { at: number; text: string }[] = [];
      let fresh = false;
      const cut = () => {
        const now = scheduler.now();
        while (buffer.length && buffer[0]!.at < now - windowMs) buffer.shift();
        if (!fresh || buffer.length === 0) return;
        fresh = false;
        const captions = collapseRepeats(
          buffer.map((b) => b.text),
          similarity,
        );
        subscriber.next({ from: buffer[0]!.at, to: now, captions });
      };
      const ticks = interval(hopMs, scheduler).subscribe(cut);
      const input = source.subscribe({
        next: (value) => {
          buffer.push({ at: scheduler.now(), text: value.text });
          fresh = true;
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          cut();
          subscriber.complete();
        },
      });
      return () => {
        ticks.unsubscribe();
        input.unsubscribe();
      };
    });
}
