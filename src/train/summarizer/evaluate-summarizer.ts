/**
 * The summarizer's quality on held-out synthetic videos, as it runs live: each video is cut
 * into rolling windows (window and hop in seconds), each window's scenes give the captions
 * that keyframes would get (one to three per scene, varied phrasings, repeats collapsed), and
 * the model's summary is compared with the ground-truth summary of the window's scenes:
 *
 *   ROUGE-L F1       word overlap in order
 *   content F1       the same, over the colour and shape words only (what a viewer must get right)
 *   windows right    the summary names exactly the same colours and shapes, in the same order
 *
 * With a captioner, each scene's caption comes from that captioner on the rendered scene
 * instead of the grammar: the two models together, as `livecap serve` runs them.
 */
import { videoScript } from '../../synth/video.js';
import { contentWords, summaryFor } from '../../synth/grammar.js';
import { Rng } from '../../util/rng.js';
import { Progress } from '../../util/progress.js';
import { rougeL } from '../metrics.js';
import { summaryPair } from './summary-pairs.js';
import type { TextSeq2Seq } from '../../models/seq2seq/text-seq2seq.js';
import { renderScene } from '../../synth/render.js';
import { collapseRepeats } from '../../pipeline/operators/rolling-window.js';
import { captionsAsText } from '../../models/seq2seq/summary-input.js';
import type { Captioner } from '../../core/caption.js';

export interface SummarizerEvalOptions {
  videos: number;
  /** Held-out video seeds start here (training draws its scenes from other seeds). */
  seed: number;
  windowSeconds: number;
  hopSeconds: number;
  videoSeconds: number;
}

export const SUMMARIZER_EVAL_DEFAULTS: SummarizerEvalOptions = { videos: 40, seed: 900001, windowSeconds: 20, hopSeconds: 10, videoSeconds: 30 };

export interface SummarizerReport {
  windows: number;
  rougeL: number;
  contentF1: number;
  contentAccuracy: number;
  msPerSummary: number;
  samples: { captions: string[]; summary: string; reference: string }[];
}

/** The colour and shape words of a text, in order, plurals folded ("red star blue circle"). */
export function contentSequence(text: string): string {
  return text
    .toLowerCase()
    .split(/[^a-z]+/)
    .flatMap((word) => {
      const { colours, shapes } = contentWords(word);
      return [...colours, ...shapes];
    })
    .join(' ');
}

/** Frames are captioned at the live pipeline's analysis size. */
const FRAME = { width: 160, height: 120 };

export async function evaluateSummarizer(model: TextSeq2Seq, o: SummarizerEvalOptions = SUMMARIZER_EVAL_DEFAULTS, captioner?: Captioner): Promise<SummarizerReport> {
  const windows: { captions: string[]; input: string; reference: string }[] = [];
  for (let v = 0; v < o.videos; v++) {
    const script = videoScript(o.seed + v, { duration: o.videoSeconds });
    const rng = new Rng(o.seed + v);
    for (let end = Math.min(o.windowSeconds, o.videoSeconds); end <= o.videoSeconds + 1e-9; end += o.hopSeconds) {
      const scenes = script.scenes.filter((s) => s.end > end - o.windowSeconds && s.start < end).map((s) => s.scene);
      let captions: string[];
      if (captioner) {
        const said: string[] = [];
        for (const scene of scenes) said.push((await captioner.caption(renderScene(scene, FRAME.width, FRAME.height))).text);
        captions = collapseRepeats(said);
      } else {
        captions = summaryPair(rng, { maxScenes: scenes.length }, scenes).captions;
      }
      windows.push({ captions, input: captionsAsText(captions), reference: summaryFor(scenes) });
    }
  }
  const bar = new Progress({ label: 'summaries', total: windows.length });
  let rouge = 0;
  let content = 0;
  let right = 0;
  let ms = 0;
  const samples: SummarizerReport['samples'] = [];
  for (const [i, w] of windows.entries()) {
    const started = performance.now();
    const { text } = await model.generate(w.input);
    ms += performance.now() - started;
    rouge += rougeL(text, w.reference).f;
    const [got, want] = [contentSequence(text), contentSequence(w.reference)];
    content += rougeL(got, want).f;
    if (got === want) right++;
    if (samples.length < 8) samples.push({ captions: w.captions, summary: text, reference: w.reference });
    bar.tick(1, { rougeL: rouge / (i + 1) });
  }
  bar.finish();
  return { windows: windows.length, rougeL: rouge / windows.length, contentF1: content / windows.length, contentAccuracy: right / windows.length, msPerSummary: ms / windows.length, samples };
}
