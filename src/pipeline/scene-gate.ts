/**
 * The scene-change gate: decides, frame by frame, where a new scene starts, so that only
 * those frames (keyframes) are captioned.
 *
 * Each frame is reduced to a tiny signature: a 16×12 RGB thumbnail and a 64-bin colour
 * histogram. The change between consecutive frames is the mean of the histogram distance and
 * the thumbnail's mean absolute difference (both 0..1).
 *
 *  - Hard cut: a change that stands out from the recent level of motion (above
 *    mean + k·std of the last few seconds, and above an absolute floor).
 *  - Gradual transition (fade, dissolve): "twin comparison". When the change rises above a
 *    lower threshold, the frame before is remembered; if the picture then drifts far from it
 *    (its own change against that frame passes the cut threshold) before the change settles,
 *    it was a transition. The keyframe is emitted once the picture is still again, and the cut
 *    time is the middle of the transition.
 *  - A minimum scene length stops one transition from firing twice, and a heartbeat emits a
 *    keyframe when a scene has lasted `maxGapSec` without one, so a static view is re-captioned;
 *    each stream's heartbeats keep their own phase in that period.
 */

export interface GateFrame {
  width: number;
  height: number;
  data: Uint8Array;
  /** Seconds, monotonic within a stream. */
  pts: number;
}

export interface SceneGateOptions {
  /** Absolute floor for a hard cut's change score (0..1). */
  cutFloor: number;
  /** Standard deviations above the recent mean that a cut must reach. */
  sensitivity: number;
  /** Seconds of recent changes that set the adaptive threshold. */
  historySec: number;
  /** Change score (0..1) that may start a gradual transition. */
  gradualFloor: number;
  /** Longest gradual transition considered, in seconds. */
  maxTransitionSec: number;
  /** No two cuts closer than this, in seconds. */
  minSceneSec: number;
  /** Emit a heartbeat keyframe when a scene lasts this long without one, in seconds (0: never). */
  maxGapSec: number;
  /**
   * How early this stream's first heartbeat comes, as a share of `maxGapSec` (0..1), so that
   * streams started together do not all send a heartbeat keyframe to a shared captioner at
   * the same moment, every `maxGapSec`. See `heartbeatPhase`.
   */
  heartbeatPhase: number;
}

export const SCENE_DEFAULTS: SceneGateOptions = {
  cutFloor: 0.03,
  sensitivity: 6,
  historySec: 4,
  gradualFloor: 0.008,
  maxTransitionSec: 2,
  minSceneSec: 1,
  maxGapSec: 30,
  heartbeatPhase: 0,
};

/**
 * The heartbeat phase of the `index`-th stream (0, 1, 2…): multiples of the golden ratio's
 * fraction, which spread any number of streams nearly evenly over the heartbeat period
 * without knowing in advance how many there will be.
 */
export function heartbeatPhase(index: number): number {
  return (index * 0.6180339887498949) % 1;
}

export type KeyframeReason = 'start' | 'cut' | 'gradual' | 'heartbeat';

export interface GateDecision {
  reason: KeyframeReason;
  /** Where the scene change happened (the middle of a gradual transition), in seconds. */
  cutAt: number;
  /** The change score that decided it. */
  score: number;
}

const THUMB_W = 16;
const THUMB_H = 12;
const BINS = 4;

export interface Signature {
  thumb: Float32Array;
  hist: Float32Array;
  luma: number;
}

/** Downscaled thumbnail (box average) and a normalised 4×4×4 RGB histogram of a frame. */
export function signature(frame: GateFrame): Signature {
  const { width, height, data } = frame;
  const thumb = new Float32Array(THUMB_W * THUMB_H * 3);
  const counts = new Float32Array(THUMB_W * THUMB_H);
  const hist = new Float32Array(BINS * BINS * BINS);
  let luma = 0;
  // Sample every other pixel in each direction: enough for a signature, and half the work.
  const step = width * height > 20000 ? 2 : 1;
  let samples = 0;
  for (let y = 0; y < height; y += step) {
    const ty = Math.min(THUMB_H - 1, Math.floor((y * THUMB_H) / height));
    for (let x = 0; x < width; x += step) {
      const tx = Math.min(THUMB_W - 1, Math.floor((x * THUMB_W) / width));
      const i = (y * width + x) * 3;
      const r = data[i];
      const g = data[i + 1];
      const b = data[i + 2];
      const t = ty * THUMB_W + tx;
      thumb[t * 3] += r;
      thumb[t * 3 + 1] += g;
      thumb[t * 3 + 2] += b;
      counts[t]++;
      hist[((r >> 6) * BINS + (g >> 6)) * BINS + (b >> 6)]++;
      luma += 0.299 * r + 0.587 * g + 0.114 * b;
      samples++;
    }
  }
  for (let t = 0; t < counts.length; t++) {
    const c = counts[t] || 1;
    thumb[t * 3] /= c;
    thumb[t * 3 + 1] /= c;
    thumb[t * 3 + 2] /= c;
  }
  for (let k = 0; k < hist.length; k++) hist[k] /= samples;
  return { thumb, hist, luma: luma / samples / 255 };
}

/** Change between two signatures, 0 (same) to 1 (nothing alike). */
export function change(a: Signature, b: Signature): number {
  let h = 0;
  for (let k = 0; k < a.hist.length; k++) h += Math.abs(a.hist[k] - b.hist[k]);
  let p = 0;
  for (let k = 0; k < a.thumb.length; k++) p += Math.abs(a.thumb[k] - b.thumb[k]);
  return 0.5 * (h / 2) + 0.5 * (p / a.thumb.length / 255);
}

/**
 * Per-stream gate state. `push` takes frames in order and returns a decision for frames that
 * should be captioned (a keyframe), or undefined.
 */
export class SceneGate {
  private readonly options: SceneGateOptions;
  private previous: Signature | undefined;
  private readonly history: { pts: number; score: number }[] = [];
  private lastCut = -Infinity;
  private lastKeyframe = -Infinity;
  /** An open gradual transition: the signature before it and when it began. */
  private transition: { before: Signature; start: number; peak: number; drifted: boolean; quiet: number } | undefined;

  constructor(options: Partial<SceneGateOptions> = {}) {
    this.options = { ...SCENE_DEFAULTS, ...options };
  }

  push(frame: GateFrame): GateDecision | undefined {
    const o = this.options;
    const sig = signature(frame);
    const prev = this.previous;
    this.previous = sig;
    if (!prev) {
      const start = this.keyframe(frame.pts, { reason: 'start', cutAt: frame.pts, score: 0 });
      this.lastKeyframe -= Math.min(1, Math.max(0, o.heartbeatPhase)) * o.maxGapSec;
      return start;
    }

    const score = change(prev, sig);
    const recent = this.history.filter((h) => h.pts >= frame.pts - o.historySec).map((h) => h.score);
    const mean = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
    const std = recent.length ? Math.sqrt(recent.reduce((a, b) => a + (b - mean) ** 2, 0) / recent.length) : 0;
    const cutThreshold = Math.max(o.cutFloor, mean + o.sensitivity * std);
    const gradualThreshold = Math.max(o.gradualFloor, mean + 2 * std);
    while (this.history.length && this.history[0].pts < frame.pts - o.historySec) this.history.shift();
    const sceneLongEnough = frame.pts - this.lastCut >= o.minSceneSec;

    if (this.transition) {
      const t = this.transition;
      t.peak = Math.max(t.peak, score);
      const drift = change(t.before, sig);
      if (drift >= o.cutFloor * 1.5) t.drifted = true;
      t.quiet = score < gradualThreshold ? t.quiet + 1 : 0;
      const tooLong = frame.pts - t.start > o.maxTransitionSec;
      // The picture is still again (two quiet frames): decide what the transition was.
      if (t.quiet >= 2 || tooLong) {
        this.transition = undefined;
        if (t.drifted && drift >= o.cutFloor && frame.pts - this.lastCut >= o.minSceneSec) {
          const cutAt = (t.start + frame.pts) / 2;
          this.lastCut = cutAt;
          return this.keyframe(frame.pts, { reason: 'gradual', cutAt, score: drift });
        }
      }
      return this.heartbeat(frame.pts, score);
    }

    if (score >= cutThreshold && sceneLongEnough) {
      this.lastCut = frame.pts;
      return this.keyframe(frame.pts, { reason: 'cut', cutAt: frame.pts, score });
    }
    if (score >= gradualThreshold && sceneLongEnough) {
      this.transition = { before: prev, start: frame.pts, peak: score, drifted: false, quiet: 0 };
      return undefined;
    }
    // Only ordinary frames set the motion level: a cut must not raise the bar for the next one.
    this.history.push({ pts: frame.pts, score });
    return this.heartbeat(frame.pts, score);
  }

  private heartbeat(pts: number, score: number): GateDecision | undefined {
    if (this.options.maxGapSec > 0 && pts - this.lastKeyframe >= this.options.maxGapSec) return this.keyframe(pts, { reason: 'heartbeat', cutAt: pts, score });
    return undefined;
  }

  private keyframe(pts: number, decision: GateDecision): GateDecision {
    this.lastKeyframe = pts;
    return decision;
  }
}
