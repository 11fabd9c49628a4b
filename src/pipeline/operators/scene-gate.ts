/**
 * The scene gate as an operator: frames in, keyframes out, each with the gate's decision. Each
 * subscription has a gate of its own (a stream restarted, a second reader of the same frames).
 *
 *   frames.pipe(sceneGate({ maxGapSec: 0 }))   // → { frame, decision } at each cut, transition, heartbeat
 */
import { defer, filter, map, type Observable, type OperatorFunction } from 'rxjs';
import { SceneGate, type GateDecision, type GateFrame, type SceneGateOptions } from '../scene-gate.js';

export interface Keyframe<F> {
  frame: F;
  decision: GateDecision;
}

/**
 * Keeps the frames the gate decides to caption. `ptsOf` gives a frame's time in seconds,
 * monotonic within the stream (its `pts` when absent).
 */
export function sceneGate<F extends Omit<GateFrame, 'pts'>>(options: Partial<SceneGateOptions> = {}, ptsOf?: (frame: F) => number): OperatorFunction<F, Keyframe<F>> {
  return (frames: Observable<F>) =>
    defer(() => {
      const gate = new SceneGate(options);
      return frames.pipe(
        map((frame) => ({ frame, decision: gate.push(ptsOf ? { ...frame, pts: ptsOf(frame) } : (frame as F & GateFrame)) })),
        filter((k): k is Keyframe<F> => k.decision !== undefined),
      );
    });
}
