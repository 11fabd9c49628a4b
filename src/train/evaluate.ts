/**
 * `livecap eval`: captions a dataset split and scores it: corpus BLEU-1..4 and CIDEr-D against
 * each image's reference captions. On synthetic datasets (scenes.jsonl beside captions.txt) it
 * also checks the content words: for single-object scenes, whether the caption names exactly
 * the object's colour and shape; and for every scene kind (single, pair, triple, group), whether
 * the caption names exactly the scene's objects: the same (colour, shape) pairs, as many times.
 * For a model with an attention decoder it draws where the decoder looked for each word of a
 * few frames (one of each scene kind where it can) into MODEL_DIR/attention.png.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CnnLstmCaptioner } from '../models/captioner/captioner.js';
import { readImage } from '../media/image.js';
import { contentWords, namesExactObjects } from '../synth/grammar.js';
import type { Scene } from '../synth/world.js';
import { Progress } from '../util/progress.js';
import { attentionHeatmaps } from '../plot/attention-map.js';
import { readCaptionDataset, type Split } from './caption-dataset.js';
import { corpusBleu, ciderD } from './metrics.js';
import type { Tf } from '../models/tfjs/tf.js';

export interface EvalOptions {
  modelDir: string;
  datasetDir: string;
  split: Split | 'all';
  beamWidth?: number;
  limit?: number;
  /** Where attention heatmaps go for an attention decoder (default MODEL_DIR/attention.png; null: none). */
  heatmaps?: string | null;
}

/** Frames drawn in the attention heatmaps. */
export const HEATMAP_FRAMES = 4;

export interface EvalReport {
  images: number;
  split: string;
  splitMethod: string;
  beamWidth: number;
  bleu: [number, number, number, number];
  cider: number;
  /** Single-object scenes whose caption names exactly their colour and shape. */
  content?: { scenes: number; correct: number; accuracy: number };
  /**
   * Scenes whose caption names exactly their objects (see grammar.ts namesExactObjects), per
   * scene kind and over all scenes with a known scene.
   */
  objects?: { kinds: Record<string, Accuracy>; overall: Accuracy };
  msPerImage: number;
  /** The attention heatmaps written, if any. */
  heatmaps?: string;
  samples: { image: string; caption: string; reference: string }[];
}

export interface Accuracy {
  scenes: number;
  correct: number;
  accuracy: number;
}

/** Exact-object accuracy per scene kind of captions of synthetic scenes; kinds in a fixed order. */
export function objectAccuracy(items: readonly { scene: Scene; caption: string }[]): { kinds: Record<string, Accuracy>; overall: Accuracy } {
  const order = ['single', 'pair', 'triple', 'group'];
  const tally = new Map<string, { scenes: number; correct: number }>();
  for (const { scene, caption } of items) {
    const t = tally.get(scene.kind) ?? { scenes: 0, correct: 0 };
    t.scenes++;
    if (namesExactObjects(scene, caption)) t.correct++;
    tally.set(scene.kind, t);
  }
  const acc = (t: { scenes: number; correct: number }): Accuracy => ({ ...t, accuracy: t.scenes ? t.correct / t.scenes : 0 });
  const kinds: Record<string, Accuracy> = {};
  const names = [...tally.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  for (const k of names) kinds[k] = acc(tally.get(k)!);
  const sum = [...tally.values()].reduce((a, t) => ({ scenes: a.scenes + t.scenes, correct: a.correct + t.correct }), { scenes: 0, correct: 0 });
  return { kinds, overall: acc(sum) };
}

export async function evaluateCaptioner(tf: Tf, options: EvalOptions): Promise<EvalReport> {
  const dataset = await readCaptionDataset(options.datasetDir);
  let images = options.split === 'all' ? dataset.images : dataset.images.filter((i) => i.split === options.split);
  if (options.limit) images = images.slice(0, options.limit);
  if (images.length === 0) throw new Error(`${options.datasetDir}: no images in split '${options.split}' (${dataset.splitMethod})`);
  const scenes = new Map<string, Scene>();
  const scenesFile = join(options.datasetDir, 'scenes.jsonl');
  if (existsSync(scenesFile)) {
    for (const line of (await readFile(scenesFile, 'utf8')).split('\n')) {
      if (line.trim()) {
        const { image, scene } = JSON.parse(line) as { image: string; scene: Scene };
        scenes.set(image, scene);
      }
    }
  }
  const captioner = await CnnLstmCaptioner.load(tf, options.modelDir);
  const beamWidth = options.beamWidth ?? captioner.manifest.search.beamWidth;
  try {
    const bar = new Progress({ label: 'eval', total: images.length });
    const candidates: string[] = [];
    let ms = 0;
    const batch = 16;
    for (let b = 0; b < images.length; b += batch) {
      const chunk = images.slice(b, b + batch);
      const frames = await Promise.all(chunk.map((i) => readImage(join(dataset.imagesDir, i.name))));
      const t0 = performance.now();
      const results = await captioner.captionAll(frames, { beamWidth });
      ms += performance.now() - t0;
      candidates.push(...results.map((r) => r.text));
      bar.tick(chunk.length);
    }
    const scored = images.map((img, i) => ({ candidate: candidates[i], references: img.captions }));
    let content: EvalReport['content'];
    const singles = images.map((img, i) => ({ scene: scenes.get(img.name), caption: candidates[i] })).filter((x) => x.scene?.kind === 'single');
    if (singles.length > 0) {
      const correct = singles.filter(({ scene, caption }) => {
        const words = contentWords(caption);
        const [o] = scene!.objects;
        return words.colours.length === 1 && words.colours[0] === o.colour && words.shapes.length === 1 && words.shapes[0] === o.shape;
      }).length;
      content = { scenes: singles.length, correct, accuracy: correct / singles.length };
    }
    const known = images.flatMap((img, i) => {
      const scene = scenes.get(img.name);
      return scene ? [{ scene, caption: candidates[i] }] : [];
    });
    const objects = known.length ? objectAccuracy(known) : undefined;
    let heatmaps: string | undefined;
    if (captioner.attention && options.heatmaps !== null) {
      heatmaps = options.heatmaps ?? join(options.modelDir, 'attention.png');
      // One frame of each scene kind first (pairs and triples are where attention matters), then any.
      const chosen: typeof images = [];
      for (const kind of ['pair', 'triple', 'single', 'group']) {
        const img = images.find((i) => scenes.get(i.name)?.kind === kind);
        if (img) chosen.push(img);
      }
      for (const img of images) if (chosen.length < HEATMAP_FRAMES && !chosen.includes(img)) chosen.push(img);
      const frames = await Promise.all(chosen.slice(0, HEATMAP_FRAMES).map((i) => readImage(join(dataset.imagesDir, i.name))));
      const attended = await captioner.captionWithAttention(frames, { beamWidth });
      const rows = attended.map((a, k) => ({ frame: frames[k], words: a.alphas.length > a.words.length ? [...a.words, '(end)'] : a.words, alphas: a.alphas, grid: a.grid }));
      await writeFile(heatmaps, attentionHeatmaps(rows));
    }
    return {
      images: images.length,
      split: options.split,
      splitMethod: dataset.splitMethod,
      beamWidth,
      bleu: corpusBleu(scored),
      cider: ciderD(scored),
      content,
      objects,
      msPerImage: ms / images.length,
      heatmaps,
      samples: images.slice(0, 8).map((img, i) => ({ image: img.name, caption: candidates[i], reference: img.captions[0] })),
    };
  } finally {
    captioner.dispose();
  }
}

export function formatReport(r: EvalReport): string {
  const lines = [
    `images ${r.images} (split ${r.split}: ${r.splitMethod}), beam width ${r.beamWidth}`,
    `BLEU-1 ${r.bleu[0].toFixed(3)}  BLEU-2 ${r.bleu[1].toFixed(3)}  BLEU-3 ${r.bleu[2].toFixed(3)}  BLEU-4 ${r.bleu[3].toFixed(3)}`,
    `CIDEr-D ${r.cider.toFixed(3)}`,
  ];
  if (r.content) lines.push(`colour and shape right on single-object scenes: ${r.content.correct}/${r.content.scenes} (${(r.content.accuracy * 100).toFixed(1)}%)`);
  if (r.objects) {
    lines.push('exact objects named, per scene kind:');
    const row = (name: string, a: Accuracy) => `  ${name.padEnd(8)} ${String(a.correct).padStart(5)}/${String(a.scenes).padEnd(5)} ${(a.accuracy * 100).toFixed(1).padStart(5)}%`;
    for (const [k, a] of Object.entries(r.objects.kinds)) lines.push(row(k, a));
    lines.push(row('overall', r.objects.overall));
  }
  lines.push(`${r.msPerImage.toFixed(1)} ms per image (decoding, in-process)`);
  if (r.heatmaps) lines.push(`attention heatmaps: ${r.heatmaps}`);
  for (const s of r.samples) lines.push(`  ${s.image}: ${s.caption}   [ref: ${s.reference}]`);
  return lines.join('\n');
}
