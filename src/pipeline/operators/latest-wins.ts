/**
 * `latestWins(work)`: runs `work` on one value at a time; while it is busy, only the newest
 * value waits, and each value it displaces is dropped and reported to `onDrop`. This is how
 * keyframes meet a model that is slower than the camera: the caption is always of the most
 * recent scene, and the backlog never grows.
 *
 * Errors from the source or from `work` go downstream; the result completes when the source
 * has completed and the last accepted value has been worked.
 */
import { Observable, from, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

export function latestWins<T, R>(work: (value: T) => ObservableInput<R>, onDrop?: (dropped: T) => void): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      let busy = false;
      let pending: { value: T } | undefined;
      let sourceDone = false;
      let inner: Subscription | undefined;

      const start = (value: T): void => {
        busy = true;
        let output: ObservableInput<R>;
        try {
          output = work(value);
        } catch (err) {
          subscriber.error(err);
          return;
        }
        inner = from(output).subscribe({
          next: (r) => subscriber.next(r),
          error: (err) => subscriber.error(err),
          complete: () => {
            busy = false;
            const next = pending;
            // Clear the slot before starting: `work` may emit synchronously and re-enter.
            pending = undefined;
            if (next) start(next.value);
            else if (sourceDone) subscriber.complete();
          },
        });
      };

      const outer = source.subscribe({
        next: (value) => {
          if (!busy) start(value);
          else {
            if (pending) onDrop?.(pending.value);
            pending = { value };
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          if (!busy && !pending) subscriber.complete();
        },
      });
      return () => {
        outer.unsubscribe();
        inner?.unsubscribe();
      };
    });
}
