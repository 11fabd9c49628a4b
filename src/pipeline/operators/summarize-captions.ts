/**
 * Captions in, video captions out: the captions of a rolling window are summarized every hop
 * by a model given as a function; a window that waits while the model is busy is replaced by
 * the next one. A failed summary is a `summary-failed` step.
 */
import { catchError, from, map, of, pipe, type ObservableInput, type OperatorFunction } from 'rxjs';
import { latestWins } from './latest-wins.js';
import { rollingWindow, type RollingWindowOptions } from './rolling-window.js';
import type { Step } from '../steps.js';

type SummaryStep = Extract<Step, { type: 'summarized' | 'summary-failed' }>;

export function summarizeCaptions(summarize: (captions: readonly string[]) => ObservableInput<{ text: string }>, window: RollingWindowOptions): OperatorFunction<{ text: string }, SummaryStep> {
  return pipe(
    rollingWindow(window),
    latestWins((w) =>
      from(summarize(w.captions)).pipe(
        map((s): SummaryStep => ({ type: 'summarized', text: s.text, from: w.from, to: w.to })),
        catchError((error: Error) => of<SummaryStep>({ type: 'summary-failed', error })),
      ),
    ),
  );
}
