/**
 * Scene detection quality and cost, against ffmpeg's own scene detectors in the same run.
 *
 * Two sets of synthetic clips with known cuts: hard cuts only, and mixed (hard cuts, fades
 * through black, dissolves; objects move and the camera is noisy). For each clip, livecap's
 * gate and ffmpeg's `select='gt(scene,0.3)'` and `scdet` (threshold 10) mark cuts; a mark
 * within 0.35 s of a hard cut, or within half the transition plus 0.35 s of a gradual one,
 * is a hit (one mark per cut). ffmpeg's marks are debounced by the same 1 s minimum scene
 * length livecap uses. Reports precision, recall and F1, and the gate's cost per frame.
 *
 *   livecap bench scenes [--videos N] [--duration SEC] [--out DIR]
 */
import { numberFlag, parseFlags, wantsHelp } from '../src/cli.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { videoScript, writeVideo, type Transition } from '../src/synth/video.js';
import { detectScenes } from '../src/pipeline/detect-scenes.js';
import { runFfmpeg } from '../src/media/ffmpeg.js';
import { SceneGate } from '../src/pipeline/scene-gate.js';
import { renderScene } from '../src/synth/render.js';
import { randomScene } from '../src/synth/world.js';
import { Rng } from '../src/util/rng.js';
import { Progress } from '../src/util/progress.js';
import { machineLine } from './machine.js';

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

export function matchCuts(truth: readonly Transition[], marks: readonly number[], slack = 0.35): Counts {
  const used = new Set<number>();
  let tp = 0;
  for (const cut of truth) {
    const tolerance = cut.duration / 2 + slack;
    let best = -1;
    marks.forEach((m, i) => {
      if (!used.has(i) && Math.abs(m - cut.at) <= tolerance && (best < 0 || Math.abs(m - cut.at) < Math.abs(marks[best] - cut.at))) best = i;
    });
    if (best >= 0) {
      used.add(best);
      tp++;
    }
  }
  return { tp, fp: marks.length - used.size, fn: truth.length - tp };
}

function f1({ tp, fp, fn }: Counts) {
  const precision = tp + fp ? tp / (tp + fp) : 1;
  const recall = tp + fn ? tp / (tp + fn) : 1;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

function debounce(times: number[], gap = 1): number[] {
  const out: number[] = [];
  for (const t of times.sort((a, b) => a - b)) if (out.length === 0 || t - out[out.length - 1] >= gap) out.push(t);
  return out;
}

async function ffmpegSelect(video: string): Promise<number[]> {
  const out = await runFfmpeg(['-i', video, '-an', '-vf', "select='gt(scene,0.3)',metadata=mode=print:file=-", '-f', 'null', '-'], { label: 'ffmpeg scene select' });
  return debounce([...out.toString().matchAll(/pts_time:([\d.]+)/g)].map((m) => Number(m[1])));
}

async function ffmpegScdet(video: string): Promise<number[]> {
  const text: string[] = [];
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-i', video, '-an', '-vf', 'scdet=threshold=10', '-f', 'null', '-']);
    p.stderr.on('data', (c: Buffer) => text.push(c.toString()));
    p.on('error', reject);
    p.on('close', () => resolve());
  });
  return debounce([...text.join('').matchAll(/lavfi\.scd\.time: ([\d.]+)/g)].map((m) => Number(m[1])));
}

const add = (a: Counts, b: Counts): Counts => ({ tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn });

const HELP = `usage: livecap bench scenes [--videos 10] [--duration SEC] [--out DIR]

  Scene-cut precision, recall and cost of livecap's gate against ffmpeg's scene detectors,
  on synthetic clips with known cuts.`;

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { videos: { type: 'string' }, duration: { type: 'string' }, out: { type: 'string' } });
  const count = numberFlag('videos', values.videos, 10);
  const duration = numberFlag('duration', values.duration, 40);
  const dir = values.out ?? join(tmpdir(), 'livecap-bench-scenes');
  await mkdir(dir, { recursive: true });
  const sets = [
    { name: 'hard cuts', transitions: { cut: 1, fade: 0, dissolve: 0 }, seed: 1000 },
    { name: 'mixed', transitions: { cut: 0.5, fade: 0.25, dissolve: 0.25 }, seed: 2000 },
  ];
  const rows: string[] = [];
  for (const set of sets) {
    const totals: Record<string, Counts> = { livecap: { tp: 0, fp: 0, fn: 0 }, 'ffmpeg select scene>0.3': { tp: 0, fp: 0, fn: 0 }, 'ffmpeg scdet t=10': { tp: 0, fp: 0, fn: 0 } };
    let cuts = 0;
    const bar = new Progress({ label: `scenes: ${set.name}`, total: count });
    for (let k = 0; k < count; k++) {
      const script = videoScript(set.seed + k, { duration, transitions: set.transitions });
      const video = join(dir, `${set.seed + k}.mp4`);
      const truth = await writeVideo(script, video);
      cuts += truth.cuts.length;
      const livecap = (await detectScenes(video)).map((c) => c.time);
      totals.livecap = add(totals.livecap, matchCuts(truth.cuts, livecap));
      totals['ffmpeg select scene>0.3'] = add(totals['ffmpeg select scene>0.3'], matchCuts(truth.cuts, await ffmpegSelect(video)));
      totals['ffmpeg scdet t=10'] = add(totals['ffmpeg scdet t=10'], matchCuts(truth.cuts, await ffmpegScdet(video)));
      bar.tick();
    }
    for (const [name, c] of Object.entries(totals)) {
      const m = f1(c);
      rows.push(`| ${set.name} (${count} clips, ${cuts} cuts) | ${name} | ${m.precision.toFixed(3)} | ${m.recall.toFixed(3)} | ${m.f1.toFixed(3)} |`);
    }
  }
  // Cost of the gate alone per analysis frame (160×120), on rendered frames.
  const rng = new Rng(5);
  const frames = Array.from({ length: 50 }, () => renderScene(randomScene(rng), 160, 120));
  const gate = new SceneGate();
  const n = 3000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) gate.push({ ...frames[i % frames.length], pts: i / 10 });
  const usPerFrame = ((performance.now() - t0) * 1000) / n;
  console.log(`scene benchmark: ${machineLine()}`);
  console.log(`clips ${duration}s at 320×240, 15 fps, H.264; livecap analyses 160×120 at 10 fps\n`);
  console.log('| clips | detector | precision | recall | F1 |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nscene gate cost: ${usPerFrame.toFixed(0)} µs per 160×120 frame (${(1e6 / usPerFrame).toFixed(0)} frames/s on one core)`);
  return 0;
}
