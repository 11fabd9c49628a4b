/**
 * Training pairs for the embedded summarizer, drawn from the synthetic world: the captions a
 * rolling window would hold (one to a few per scene, in varied phrasings, repeats collapsed as
 * the live pipeline collapses them, joined as the summarizer's input text) and the
 * ground-truth summary of those scenes (synth/grammar.ts `summaryFor`).
 */
import { randomScene, type Scene } from '../../synth/world.js';
import { canonicalCaption, captionsFor, summaryFor } from '../../synth/grammar.js';
import { collapseRepeats } from '../../pipeline/operators/rolling-window.js';
import { captionsAsText } from '../../models/seq2seq/summary-input.js';
import { Rng } from '../../util/rng.js';

export interface SummaryPair {
  scenes: Scene[];
  captions: string[];
  /** The summarizer's input: the captions as one text. */
  input: string;
  summary: string;
}

export interface PairOptions {
  /** Scenes per window are drawn from [1, maxScenes]. */
  maxScenes: number;
}

export const PAIR_DEFAULTS: PairOptions = { maxScenes: 6 };

/** Consecutive scenes that a caption tells apart, as in the synthetic videos. */
function sceneRun(rng: Rng, count: number): Scene[] {
  const scenes: Scene[] = [];
  while (scenes.length < count) {
    const scene = randomScene(rng);
    if (scenes.length && canonicalCaption(scenes.at(-1)!) === canonicalCaption(scene)) continue;
    scenes.push(scene);
  }
  return scenes;
}

/** A window's pair; its scenes are drawn unless given (held-out videos give theirs). */
export function summaryPair(rng: Rng, options: PairOptions = PAIR_DEFAULTS, given?: Scene[]): SummaryPair {
  const scenes = given ?? sceneRun(rng, rng.int(1, options.maxScenes));
  const captions = collapseRepeats(
    scenes.flatMap((scene) => {
      const phrasings = captionsFor(scene);
      const keyframes = rng.weighted<number>([
        [1, 0.65],
        [2, 0.28],
        [3, 0.07],
      ]);
      return Array.from({ length: keyframes }, () => rng.pick(phrasings));
    }),
  );
  return { scenes, captions, input: captionsAsText(captions), summary: summaryFor(scenes) };
}

/** `count` pairs from a seed; the same seed always gives the same pairs. */
export function summaryPairs(seed: number, count: number, options: PairOptions = PAIR_DEFAULTS): SummaryPair[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => summaryPair(rng, options));
}
