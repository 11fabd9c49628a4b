import type { KeyframeReason } from '../core/events.js';
/**
 * The scene-change gate: decides, frame by frame, where a new scene starts, so that only
 * those frames (keyframes) are captioned.
 *
 * Each frame is reduced to a tiny signature: a 16×12 RGB thumbnail, a 32×24 one, a 64-bin
 * colour histogram and a 512-bin one. The change between consecutive frames is the mean of the
 * histogram distance and the thumbnail's mean absolute difference (both 0..1).
 *
 *  - Hard cut: a change that stands out from the recent level of motion (above
 *    mean + k·std of the last few seconds, and above an absolute floor), across more than a
 *    corner of the picture, and after which the picture settles at once: the next frame
 *    confirms it (so the keyframe is the frame after the cut; `cutAt` is the cut's own time).
 *    A hand or a passer-by keeps changing the picture; a cut is one jump. This holds inside an
 *    open gradual window too: a cut is never folded into a transition.
 *  - Gradual transition (fade, dissolve): "twin comparison". When the change rises above a
 *    lower threshold, the frame before is remembered; once the change settles (back to the
 *    motion level, or well below the transition's own steps; never on the blank middle of a
 *    fade) it was a transition if the picture drifted far from that frame, across most of it,
 *    over several frames, and the frames in between are a blend of the two ends (one blend, or
 *    two through black or white). Pans, zooms and moving things are not blends, and a camera
 *    that keeps moving never settles. The cut time is the middle of the transition.
 *  - Pixel by pixel, the middle of a dissolve or a fade holds values between the old picture's
 *    and the new one's; something sliding into view covers the picture instead, which a coarse
 *    thumbnail cannot tell from a blend. So a transition's frames must hold in-between values,
 *    and a large change over several frames that holds them is a transition even when the
 *    camera moved too much for a clean blend. A fade that goes most of the way to black or white
 *    is a transition even between nearly alike pictures (a new object on the same view).
 *  - A transition under a moving camera (a dissolve while the view pans and objects sweep) may
 *    change each step no more than the camera does, so no window of steps stands out. It shows
 *    in the picture's colours instead, which a moving camera moves around but keeps: within a
 *    second and a half the 8×8×8 colour histogram changes almost entirely, from one settled
 *    picture to another, through frames in between (a jump is the cut test's to judge).
 *  - A window that was not a transition counts as motion, raising the motion level; a cut
 *    starts a new scene with a new motion level.
 *  - A minimum scene length stops one transition from firing twice, but a doubtful cut never
 *    hides a clearly stronger one (unless the picture went dark or bright between the two: the
 *    step into a fade and the jump out of it). A heartbeat emits a keyframe when a scene has lasted
 *    `maxGapSec` without one, so a static view is re-captioned; each stream's heartbeats keep
 *    their own phase in that period.
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
  /**
   * A still picture: for at least `stillSec` the motion level (mean + k·std) stayed under
   * `stillLevel`. There a cut needs only `stillCutFloor`, across `stillCutSpread` of the picture.
   */
  stillSec: number;
  stillLevel: number;
  stillCutFloor: number;
  stillCutSpread: number;
  /** Standard deviations above the recent mean that a cut must reach. */
  sensitivity: number;
  /** Seconds of recent changes that set the adaptive threshold. */
  historySec: number;
  /** Change score (0..1) that may start a gradual transition. */
  gradualFloor: number;
  /** Longest gradual transition considered, in seconds. */
  maxTransitionSec: number;
  /** A transition is over when its change falls below this share of its largest step (0..1). */
  quietShare: number;
  /**
   * Fewest changing frames in a gradual transition: one step alone is a jump, not a fade,
   * unless the picture changed by at least `strongChange` (the first half of a fast fade through black).
   */
  minTransitionFrames: number;
  strongChange: number;
  /** No two cuts closer than this, in seconds, unless the later one is far larger (a doubtful cut never hides a real one). */
  minSceneSec: number;
  /** Share of the picture (0..1) a hard cut must change: less is something moving in the scene. */
  cutSpread: number;
  /** A hard cut's next frame changes by at most this share of the cut's own change (0..1). */
  cutIsolation: number;
  /** Share of the picture (0..1) a gradual transition must change from before it to after it. */
  gradualSpread: number;
  /**
   * How far a gradual transition's frames may stray from a blend (see `blendResidual`); a
   * smaller change than `strongChange` must be a cleaner blend, as moving things make small ones.
   */
  maxBlendResidual: number;
  maxSmallBlendResidual: number;
  /**
   * Least share of the change (0..1) that a gradual transition's frames in between hold as
   * in-between values (see `inBetween`): something sliding into view looks like a blend in a
   * coarse thumbnail, but covers the picture pixel by pixel rather than fading it.
   */
  minInBetween: number;
  /**
   * A dissolve filmed by a moving camera is no clean blend of its ends (each end has moved on),
   * but its frames in between still hold in-between values: a window of several frames that
   * changed the picture by at least `movingChange` and holds at least `movingInBetween` is a
   * transition whatever its blend residual.
   */
  movingInBetween: number;
  movingChange: number;
  /**
   * A second cut within the minimum scene length is the same fade when a frame between the two is
   * darker (or brighter) than both by more than this (0..1 of the luma range).
   */
  fadeDip: number;
  /**
   * A fade through black (or white) between two pictures that are nearly alike (a new object or
   * two on the same backdrop) needs only `stillCutFloor` of change between its ends, across
   * `stillCutSpread` of the picture, when its darkest frame's luma is at most this share of the
   * darker end's (or its brightest frame is as near white, measured from white).
   */
  fadeDepth: number;
  /**
   * A transition the frame-to-frame test cannot see (a dissolve while the camera moves): the
   * colours of the picture change by at least `colourShift` (0..1) within `colourSpanSec`, and
   * stay changed for `colourHoldSec` after the middle of the change.
   */
  colourShift: number;
  colourSpanSec: number;
  colourHoldSec: number;
  /** Most the colours may move over two frames at either end of such a change (0..1). */
  colourSettled: number;
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
  stillSec: 2,
  stillLevel: 0.01,
  stillCutFloor: 0.008,
  stillCutSpread: 0.05,
  sensitivity: 6,
  historySec: 4,
  gradualFloor: 0.008,
  maxTransitionSec: 2,
  quietShare: 0.25,
  minTransitionFrames: 3,
  strongChange: 0.2,
  minSceneSec: 1,
  cutSpread: 0.1,
  cutIsolation: 0.4,
  gradualSpread: 0.15,
  maxBlendResidual: 0.15,
  maxSmallBlendResidual: 0.03,
  minInBetween: 0.15,
  movingInBetween: 0.25,
  movingChange: 0.1,
  fadeDip: 0.05,
  fadeDepth: 0.3,
  colourShift: 0.85,
  colourSpanSec: 1.6,
  colourHoldSec: 0.4,
  colourSettled: 0.25,
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

const FINE_LEVELS = 8;
/** The finer picture: twice the thumbnail each way. */
const SMALL_W = THUMB_W * 2;
const SMALL_H = THUMB_H * 2;

export interface Signature {
  thumb: Float32Array;
  /** A 32×24 RGB picture (box averages): fine enough to tell a pixel that fades from one that is covered. */
  small: Float32Array;
  hist: Float32Array;
  /** A finer 8×8×8 RGB histogram: the picture's colour content, wherever it is in the frame. */
  colours: Float32Array;
  luma: number;
}

/** Downscaled pictures (box averages, 32×24 and 16×12) and normalised RGB histograms of a frame. */
export function signature(frame: GateFrame): Signature {
  const { width, height, data } = frame;
  const hist = new Float32Array(BINS * BINS * BINS);
  const colours = new Float32Array(FINE_LEVELS ** 3);
  const small = new Float32Array(SMALL_W * SMALL_H * 3);
  const smallCounts = new Float32Array(SMALL_W * SMALL_H);
  let luma = 0;
  // Sample every other pixel in each direction: enough for a signature, and half the work.
  const step = width * height > 20000 ? 2 : 1;
  let samples = 0;
  const columns = smallColumns(width);
  for (let y = 0; y < height; y += step) {
    const row = Math.min(SMALL_H - 1, Math.floor((y * SMALL_H) / height)) * SMALL_W;
    for (let x = 0; x < width; x += step) {
      const i = (y * width + x) * 3;
      const r = data[i];
      const g = data[i + 1];
      const b = data[i + 2];
      const s = row + columns[x];
      small[s * 3] += r;
      small[s * 3 + 1] += g;
      small[s * 3 + 2] += b;
      smallCounts[s]++;
      hist[((r >> 6) * BINS + (g >> 6)) * BINS + (b >> 6)]++;
      colours[((r >> 5) * FINE_LEVELS + (g >> 5)) * FINE_LEVELS + (b >> 5)]++;
      luma += 0.299 * r + 0.587 * g + 0.114 * b;
      samples++;
    }
  }
  // Each thumbnail cell is exactly two by two cells of the finer picture (⌊⌊2u⌋/2⌋ = ⌊u⌋), so its
  // sums are theirs.
  const thumb = new Float32Array(THUMB_W * THUMB_H * 3);
  const counts = new Float32Array(THUMB_W * THUMB_H);
  for (let sy = 0; sy < SMALL_H; sy++)
    for (let sx = 0; sx < SMALL_W; sx++) {
      const s = sy * SMALL_W + sx;
      const t = (sy >> 1) * THUMB_W + (sx >> 1);
      thumb[t * 3] += small[s * 3];
      thumb[t * 3 + 1] += small[s * 3 + 1];
      thumb[t * 3 + 2] += small[s * 3 + 2];
      counts[t] += smallCounts[s];
    }
  averageCells(thumb, counts);
  averageCells(small, smallCounts);
  for (let k = 0; k < hist.length; k++) hist[k] /= samples;
  for (let k = 0; k < colours.length; k++) colours[k] /= samples;
  return { thumb, small, hist, colours, luma: luma / samples / 255 };
}

let columnCache: { width: number; columns: Uint8Array } | undefined;

/** The 32×24 picture's column for each pixel column of a frame `width` wide (kept for the last width). */
function smallColumns(width: number): Uint8Array {
  if (columnCache?.width !== width) {
    const columns = new Uint8Array(width);
    for (let x = 0; x < width; x++) columns[x] = Math.min(SMALL_W - 1, Math.floor((x * SMALL_W) / width));
    columnCache = { width, columns };
  }
  return columnCache.columns;
}

/** Turns sums of RGB samples per cell into their means. */
function averageCells(rgb: Float32Array, counts: Float32Array): void {
  for (let t = 0; t < counts.length; t++) {
    const c = counts[t] || 1;
    rgb[t * 3] /= c;
    rgb[t * 3 + 1] /= c;
    rgb[t * 3 + 2] /= c;
  }
}

/** Change between two signatures, 0 (same) to 1 (nothing alike). */
export function change(a: Signature, b: Signature): number {
  let h = 0;
  for (let k = 0; k < a.hist.length; k++) h += Math.abs(a.hist[k] - b.hist[k]);
  let p = 0;
  for (let k = 0; k < a.thumb.length; k++) p += Math.abs(a.thumb[k] - b.thumb[k]);
  return 0.5 * (h / 2) + 0.5 * (p / a.thumb.length / 255);
}

/** How far the colour content moved between two signatures, 0 (same colours) to 1 (none in common), wherever things are in the frame. */
export function colourShift(a: Signature, b: Signature): number {
  let d = 0;
  for (let k = 0; k < a.colours.length; k++) d += Math.abs(a.colours[k] - b.colours[k]);
  return d / 2;
}

/** How far one RGB cell (at index `k`, its red) lies from the same cell of another picture: the sum over its channels. */
function cellDistance(p: Float32Array, q: Float32Array, k: number): number {
  return Math.abs(p[k] - q[k]) + Math.abs(p[k + 1] - q[k + 1]) + Math.abs(p[k + 2] - q[k + 2]);
}

/** Share of thumbnail cells whose colour moved by more than `level` (0..255) between two signatures. */
export function spread(a: Signature, b: Signature, level = 8): number {
  let changed = 0;
  const cells = a.thumb.length / 3;
  for (let t = 0; t < cells; t++) {
    if (cellDistance(a.thumb, b.thumb, t * 3) > level * 3) changed++;
  }
  return changed / cells;
}

/**
 * How far a run of thumbnails strays from a blend, 0 (a perfect dissolve or fade) upwards: each
 * frame is fitted as `from + a·(to − from)` and the residual is measured against the size of
 * the change. A fade through black or white is two blends (into the darkest or brightest frame,
 * then out of it), so where the frame that strays most is darker or brighter than both ends,
 * the better of one leg and two legs through it is taken. Moving things and moving cameras do not blend: their frames stray far from the line.
 */
export function blendResidual(frames: readonly Signature[]): number {
  const n = frames.length;
  if (n < 3) return 0;
  const leg = (i: number, j: number): { sum: number; worst: number; at: number } => {
    const p = frames[i].thumb;
    const q = frames[j].thumb;
    let dd = 0;
    for (let k = 0; k < p.length; k++) dd += (q[k] - p[k]) ** 2;
    let sum = 0;
    let worst = -1;
    let at = i;
    for (let f = i + 1; f < j; f++) {
      const x = frames[f].thumb;
      let dot = 0;
      for (let k = 0; k < p.length; k++) dot += (x[k] - p[k]) * (q[k] - p[k]);
      const a = dd > 0 ? Math.min(1, Math.max(0, dot / dd)) : 0;
      let r = 0;
      for (let k = 0; k < p.length; k++) r += (x[k] - p[k] - a * (q[k] - p[k])) ** 2;
      r /= Math.max(dd, 1e-9);
      sum += r;
      if (r > worst) {
        worst = r;
        at = f;
      }
    }
    return { sum, worst, at };
  };
  const one = leg(0, n - 1);
  const inner = n - 2;
  if (one.at <= 0 || one.at >= n - 1) return one.sum / inner;
  // Two legs only through a frame darker or brighter than both ends: a fade, not an object
  // that leaves one place and arrives at another.
  const m = frames[one.at].luma;
  if (m > Math.min(frames[0].luma, frames[n - 1].luma) - 0.03 && m < Math.max(frames[0].luma, frames[n - 1].luma) + 0.03) return one.sum / inner;
  const two = leg(0, one.at).sum + leg(one.at, n - 1).sum;
  return Math.min(one.sum, two) / inner;
}

/** Least change (sum of RGB levels) between a run's ends for a cell of the 32×24 picture to count in `inBetween`. */
const IN_BETWEEN_CHANGE = 60;

/**
 * How much of the change between a run's ends its frames in between hold as in-between values,
 * 0 (every changed pixel is either as before or as after) to 1: for each cell of the 32×24
 * picture that changed between the ends, the distance from the middle frame to the nearer end,
 * as a share of the change; the mean over the changed cells, for the frame in between that holds
 * the most. The middle of a dissolve or a fade is half way (0.5) wherever the camera looks; an
 * object that slides or swings into view covers one cell after another (near 0).
 */
export function inBetween(frames: readonly Signature[]): number {
  const n = frames.length;
  if (n < 3) return 0;
  const a = frames[0].small;
  const b = frames[n - 1].small;
  // The cells that changed between the ends, and by how much: the same for every frame between.
  const changed: { k: number; ab: number }[] = [];
  for (let k = 0; k < a.length; k += 3) {
    const ab = cellDistance(a, b, k);
    if (ab >= IN_BETWEEN_CHANGE) changed.push({ k, ab });
  }
  if (changed.length === 0) return 0;
  let most = 0;
  for (let f = 1; f < n - 1; f++) {
    const m = frames[f].small;
    let sum = 0;
    for (const { k, ab } of changed) sum += Math.min(1, Math.min(cellDistance(m, a, k), cellDistance(m, b, k)) / ab);
    most = Math.max(most, sum / changed.length);
  }
  return most;
}

/** A flat black or white picture: the middle of a fade (a dark scene is not one). */
export function blank(sig: Signature): boolean {
  const th = sig.thumb;
  let mean = 0;
  for (let k = 0; k < th.length; k++) mean += th[k];
  mean /= th.length;
  let dev = 0;
  for (let k = 0; k < th.length; k++) dev += Math.abs(th[k] - mean);
  return dev / th.length < 6 && (sig.luma < 0.05 || sig.luma > 0.95);
}

/**
 * Per-stream gate state. `push` takes frames in order and returns a decision for frames that
 * should be captioned (a keyframe), or undefined.
 */
export class SceneGate {
  private readonly options: SceneGateOptions;
  private previous: Signature | undefined;
  private readonly history: { pts: number; score: number }[] = [];
  /** The last cut: when, how sure (its score against its own threshold), and the picture before it. */
  private lastCut: { at: number; score: number; before: Signature | undefined } = { at: -Infinity, score: Infinity, before: undefined };
  private lastKeyframe = -Infinity;
  /** When the last scene change was decided (the end of a transition, the frame after a cut). */
  private lastChange = -Infinity;
  /** A jump that may be a hard cut, waiting for the next frame to show whether the picture settles. */
  private candidate: { pts: number; score: number; before: Signature; sig: Signature } | undefined;
  /**
   * The tail of a transition: changes above `level` are not motion and stay out of the motion
   * level. After a gradual transition the tail ends at the first still frame; after a hard cut
   * (which may have been found in the middle of a dissolve) it lasts the minimum scene length,
   * and only jumps of more than `cutIsolation` of the cut's own change belong to it.
   */
  private settling: { level: number; until: number } | undefined;
  /** An open gradual transition: the frames since the one before it, when it began, its scores. */
  private transition: { frames: Signature[]; start: number; scores: number[]; drifted: boolean; quiet: number; threshold: number } | undefined;
  /** The last `colourSpanSec` of frames, with each one's change from the frame before. */
  private readonly recent: { pts: number; sig: Signature; score: number }[] = [];

  constructor(options: Partial<SceneGateOptions> = {}) {
    this.options = { ...SCENE_DEFAULTS, ...options };
  }

  push(frame: GateFrame): GateDecision | undefined {
    const o = this.options;
    const sig = signature(frame);
    const prev = this.previous;
    this.previous = sig;
    if (!prev) {
      this.remember(frame.pts, sig, 0);
      const start = this.keyframe(frame.pts, { reason: 'start', cutAt: frame.pts, score: 0 });
      // The start is a scene boundary: the minimum scene length counts from it, as from a doubtful cut.
      this.lastCut = { at: frame.pts, score: o.cutFloor, before: undefined };
      this.lastKeyframe -= Math.min(1, Math.max(0, o.heartbeatPhase)) * o.maxGapSec;
      return start;
    }
    const score = change(prev, sig);
    this.remember(frame.pts, sig, score);

    // A candidate cut from the frame before is confirmed or not by this frame: a cut is one
    // jump and the picture settles right after it; a hand, a passer-by or a fade keep changing.
    const candidate = this.candidate;
    if (candidate) {
      this.candidate = undefined;
      if (score <= o.cutIsolation * candidate.score && this.cutAllowed(candidate.pts, candidate.score, candidate.sig)) {
        this.transition = undefined;
        this.lastCut = { at: candidate.pts, score: candidate.score, before: candidate.before };
        // A cut found inside a dissolve or a fade leaves the rest of it to come: jumps nearly as
        // large as the cut itself, which would set the new scene's motion level high enough to
        // hide its next cut. Smaller changes are the new scene's own motion and count.
        this.settling = { level: o.cutIsolation * candidate.score, until: candidate.pts + o.minSceneSec };
        // A new scene, a new motion level.
        this.history.length = 0;
        this.history.push({ pts: frame.pts, score });
        return this.keyframe(frame.pts, { reason: 'cut', cutAt: candidate.pts, score: candidate.score });
      }
      // Not a cut: the jump is part of whatever is changing. It stood out from every step of an
      // open window, so something new starts here (a fade while people walk): the window so
      // far was motion, and a new one opens at the jump.
      if (this.transition) {
        this.absorb(this.transition);
        this.transition = undefined;
      }
      const early = this.step(candidate.pts, candidate.before, candidate.sig, candidate.score, false);
      if (early) return early;
    }
    if (!this.candidate) {
      const shifted = this.colourChange(frame.pts, sig);
      if (shifted) return shifted;
    }
    return this.step(frame.pts, prev, sig, score, true);
  }

  private remember(pts: number, sig: Signature, score: number): void {
    const recent = this.recent;
    recent.push({ pts, sig, score });
    while (recent.length > 1 && recent[0].pts < pts - this.options.colourSpanSec - 1e-6) recent.shift();
  }

  /**
   * A transition seen in the picture's colours rather than in its steps: within the last
   * `colourSpanSec` the colours changed almost entirely, and have stayed changed for
   * `colourHoldSec` after the middle of the change. A camera that pans or zooms while things
   * move changes every step of a dissolve as much as the dissolve itself, but moves the same
   * colours around. The middle is the frame whose colours are as far from the window's first as
   * from its last.
   */
  private colourChange(pts: number, sig: Signature): GateDecision | undefined {
    const o = this.options;
    const recent = this.recent;
    const first = recent[0];
    const n = recent.length;
    // Only colours from a scene that has been seen for the minimum scene length after the last
    // change was decided (a cut found at the start of a fade leaves the rest of the fade to come),
    // from one settled picture to another (not from or into the middle of a transition), and
    // never from or into the blank middle of a fade.
    if (!first || n < 5 || o.colourShift >= 1 || first.pts < Math.max(this.lastCut.at + o.minSceneSec, this.lastChange)) return undefined;
    if (blank(first.sig) || blank(sig)) return undefined;
    if (colourShift(first.sig, recent[2].sig) > o.colourSettled || colourShift(recent[n - 3].sig, sig) > o.colourSettled) return undefined;
    const shift = colourShift(first.sig, sig);
    // A fade through black or white between two pictures of the same colours (one snowy
    // view to another) shows in its blank middle instead.
    const blanks = recent.filter((r) => blank(r.sig));
    let middle: number;
    if (blanks.length > 0) {
      middle = (blanks[0].pts + blanks[blanks.length - 1].pts) / 2;
    } else {
      if (shift < o.colourShift) return undefined;
      let balance = Infinity;
      middle = first.pts;
      for (const r of recent) {
        const d = Math.abs(colourShift(first.sig, r.sig) - colourShift(r.sig, sig));
        if (d < balance) {
          balance = d;
          middle = r.pts;
        }
      }
      // A jump with no frame in between is a cut, the step test's to judge.
      if (balance > 0.5 * shift) return undefined;
    }
    if (pts - middle < o.colourHoldSec) return undefined;
    let largest = 0;
    for (let k = 1; k < n; k++) largest = Math.max(largest, recent[k].score);
    this.transition = undefined;
    this.lastCut = { at: middle, score: shift, before: first.sig };
    this.settling = { level: o.cutIsolation * largest, until: middle + o.minSceneSec };
    this.history.length = 0;
    return this.keyframe(pts, { reason: 'gradual', cutAt: middle, score: shift });
  }

  /** One frame's change, `prev` → `sig`, outside a confirmed cut. */
  private step(pts: number, prev: Signature, sig: Signature, score: number, mayCut: boolean): GateDecision | undefined {
    const o = this.options;
    const t = this.transition;
    // While a transition is open, the motion level is the one from before it.
    const { mean, std, since } = this.level(t ? t.start : pts);
    // In a picture where nothing has moved for a while, any sudden change that lasts, across more
    // than a corner, is a new scene, however small (one small shape swapped for another).
    const still = !t && pts - since >= o.stillSec && mean + o.sensitivity * std < o.stillLevel;
    const cutThreshold = Math.max(still ? o.stillCutFloor : o.cutFloor, mean + o.sensitivity * std);
    const gradualThreshold = Math.max(o.gradualFloor, mean + 2 * std);

    // A hard cut is a cut at its own time, inside an open transition too: a jump that stands
    // out from the motion level and from every step of the transition so far. It is confirmed
    // by the next frame.
    if (mayCut && score >= cutThreshold && (!t || score >= 2 * Math.max(...t.scores)) && spread(prev, sig) >= (still ? o.stillCutSpread : o.cutSpread)) {
      this.candidate = { pts, score, before: prev, sig };
      return undefined;
    }

    if (t) {
      t.frames.push(sig);
      t.scores.push(score);
      const before = t.frames[0];
      const drift = change(before, sig);
      if (drift >= o.cutFloor * 1.5) t.drifted = true;
      // Still means: back at the motion level, or well below the transition's own steps (a
      // dissolve into a moving scene). A blank frame in the middle of a fade is not the end of it.
      const still = score < Math.max(t.threshold, o.quietShare * Math.max(...t.scores));
      t.quiet = still && !blank(sig) ? t.quiet + 1 : 0;
      const tooLong = pts - t.start > o.maxTransitionSec;
      // The picture is still again (two quiet frames): decide what the transition was.
      if (t.quiet >= 2 || tooLong) {
        this.transition = undefined;
        const frames = t.quiet >= 2 ? t.frames.slice(0, -1) : t.frames;
        const end = frames[frames.length - 1];
        const settled = change(before, end);
        const strong = settled >= o.strongChange;
        const several = frames.length >= o.minTransitionFrames + 1;
        // Through black or white, alike pictures need only as much change as a cut in a still picture.
        const blankMiddle = this.throughBlank(frames);
        const isTransition =
          t.quiet >= 2 && // a camera that keeps moving never settles
          t.drifted &&
          settled >= (blankMiddle ? o.stillCutFloor : o.cutFloor) &&
          (strong || several) &&
          spread(before, end) >= (blankMiddle ? o.stillCutSpread : o.gradualSpread) &&
          this.blends(frames, strong, several && settled >= o.movingChange);
        if (isTransition && pts - this.lastCut.at >= o.minSceneSec) {
          const cutAt = (t.start + pts) / 2;
          this.lastCut = { at: cutAt, score: settled, before };
          this.settling = { level: t.threshold, until: Infinity };
          this.history.length = 0;
          return this.keyframe(pts, { reason: 'gradual', cutAt, score: settled });
        }
        // Not a transition: it was motion, and it counts towards the motion level.
        this.absorb(t);
      }
      return this.heartbeat(pts, score);
    }

    if (score >= gradualThreshold && pts - this.lastCut.at >= o.minSceneSec) {
      this.transition = { frames: [prev, sig], start: pts, scores: [score], drifted: false, quiet: 0, threshold: gradualThreshold };
      return undefined;
    }
    // The rest of a transition that was decided early (a fade decided at its darkest frame)
    // is not motion either.
    if (this.settling !== undefined) {
      if (pts >= this.settling.until) this.settling = undefined;
      else if (score >= this.settling.level) return this.heartbeat(pts, score);
      else if (this.settling.until === Infinity) this.settling = undefined;
    }
    // Only ordinary frames set the motion level: a cut must not raise the bar for the next one.
    this.history.push({ pts, score });
    return this.heartbeat(pts, score);
  }

  /**
   * Whether a window's frames go from its first to its last as a transition does: a clean blend
   * of the two (looser for a large change), or, for a large enough change over several frames,
   * in-between values everywhere as under a moving camera; and never by covering the picture
   * piece by piece.
   */
  private blends(frames: readonly Signature[], strong: boolean, mayMove: boolean): boolean {
    const o = this.options;
    const between = inBetween(frames);
    if (between < o.minInBetween) return false;
    if (blendResidual(frames) <= (strong ? o.maxBlendResidual : o.maxSmallBlendResidual)) return true;
    return mayMove && between >= o.movingInBetween;
  }

  /** Whether a window's pictures go most of the way to black or to white between its ends (a fade, even between alike pictures). */
  private throughBlank(frames: readonly Signature[]): boolean {
    const depth = this.options.fadeDepth;
    const ends = [frames[0].luma, frames[frames.length - 1].luma];
    const lumas = frames.map((f) => f.luma);
    return Math.min(...lumas) <= depth * Math.min(...ends) || 1 - Math.max(...lumas) <= depth * (1 - Math.max(...ends));
  }

  /** The motion level: mean and standard deviation of the ordinary changes in the `historySec` before `pts`. */
  private level(pts: number): { mean: number; std: number; since: number } {
    const from = pts - this.options.historySec;
    while (this.history.length && this.history[0].pts < from - this.options.maxTransitionSec) this.history.shift();
    const scores: number[] = [];
    let since = pts;
    for (const h of this.history)
      if (h.pts >= from && h.pts <= pts) {
        scores.push(h.score);
        since = Math.min(since, h.pts);
      }
    if (scores.length === 0) return { mean: 0, std: 0, since };
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    return { mean, std: Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length), since };
  }

  /**
   * The minimum scene length stops one transition from firing twice, but a doubtful cut must
   * not hide a confident one: inside it, a cut still counts when it is far larger than the
   * last and does not merely return to the picture from before the last cut (a flash).
   */
  private cutAllowed(pts: number, score: number, sig: Signature): boolean {
    const last = this.lastCut;
    const o = this.options;
    if (pts - last.at >= o.minSceneSec) return true;
    // Two steps of one transition come close together and are alike; a real cut after a
    // doubtful one comes once the doubtful scene has been seen for a moment, and is far larger.
    if (score < 3 * last.score || pts - last.at < 0.3 * o.minSceneSec) return false;
    if (!last.before) return true;
    if (change(last.before, sig) < o.cutFloor) return false;
    // Both jumps of one fade (into black, out of it) are not two scenes.
    const low = Math.min(last.before.luma, sig.luma) - o.fadeDip;
    const high = Math.max(last.before.luma, sig.luma) + o.fadeDip;
    return !this.recent.some((r) => r.pts > last.at && r.pts < pts && (r.sig.luma < low || r.sig.luma > high));
  }

  /** A window that was not a transition was motion: its changes join the motion level. */
  private absorb(t: NonNullable<SceneGate['transition']>): void {
    for (const score of t.scores) this.history.push({ pts: t.start, score });
  }

  private heartbeat(pts: number, score: number): GateDecision | undefined {
    if (this.options.maxGapSec > 0 && pts - this.lastKeyframe >= this.options.maxGapSec) return this.keyframe(pts, { reason: 'heartbeat', cutAt: pts, score });
    return undefined;
  }

  private keyframe(pts: number, decision: GateDecision): GateDecision {
    this.lastKeyframe = pts;
    if (decision.reason === 'cut' || decision.reason === 'gradual') this.lastChange = pts;
    return decision;
  }
}
