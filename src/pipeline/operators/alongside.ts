/**
 * `alongside(mark, rest)`: each value goes on through `rest`, and a mark of it is emitted first,
 * in the same stream. Both branches are subscribed before the source starts (rxjs `connect`), so
 * nothing is missed and the order is the same every time.
 *
 *   frames.pipe(alongside(() => ({ type: 'frame' }), sceneGate()))   // a mark per frame, then its keyframe if any
 */
import { connect, map, merge, type OperatorFunction } from 'rxjs';

export function alongside<T, M, R>(mark: (value: T) => M, rest: OperatorFunction<T, R>): OperatorFunction<T, M | R> {
  return connect((values) => merge(values.pipe(map(mark)), values.pipe(rest)));
}
