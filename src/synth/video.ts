/**
 * Synthetic videos: a scripted sequence of scenes with hard cuts, fades through black and
 * dissolves, objects drifting within each scene, light camera noise, and the ground truth a
 * scene detector and a summarizer are measured against.
 */
import { writeFile } from 'node:fs/promises';
import { Rng } from '../util/rng.js';
import { runFfmpeg } from '../media/ffmpeg.js';
import { blendFrames, dimFrame, type Frame, renderBackground, renderOver } from './render.js';
import { canonicalCaption, captionsFor, summaryFor } from './grammar.js';
import { advanceScene, randomScene, type Scene } from './world.js';

export type TransitionKind = 'cut' | 'fade' | 'dissolve';

export interface ScriptedScene {
  scene: Scene;
  /** Seconds; the scene owns [start, end). A transition straddles the boundary. */
  start: number;
  end: number;
}

export interface Transition {
  kind: TransitionKind;
  /** The boundary between two scenes, in seconds: the ground-truth cut time. */
  at: number;
  /** Seconds; 0 for a hard cut. The transition runs from at - duration/2 to at + duration/2. */
  duration: number;
}

export interface VideoScript {
  seed: number;
  width: number;
  height: number;
  fps: number;
  duration: number;
  /** Amplitude of per-pixel camera noise, in 8-bit levels. */
  noise: number;
  scenes: ScriptedScene[];
  transitions: Transition[];
}

export interface VideoOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Total length in seconds (default 30). */
  duration?: number;
  /** Scene lengths are drawn from [minScene, maxScene] seconds. */
  minScene?: number;
  maxScene?: number;
  noise?: number;
  /** Relative weights of transition kinds. */
  transitions?: Partial<Record<TransitionKind, number>>;
}

export const VIDEO_DEFAULTS = {
  width: 320,
  height: 240,
  fps: 15,
  duration: 30,
  minScene: 2.5,
  maxScene: 7,
  noise: 3,
  transitions: { cut: 0.6, fade: 0.2, dissolve: 0.2 },
} as const;

/** Draws a video script from a seed. The same seed and options always give the same video. */
export function videoScript(seed: number, options: VideoOptions = {}): VideoScript {
  const o = { ...VIDEO_DEFAULTS, ...options, transitions: { ...VIDEO_DEFAULTS.transitions, ...options.transitions } };
  const rng = new Rng(seed);
  const scenes: ScriptedScene[] = [];
  const transitions: Transition[] = [];
  let t = 0;
  while (t < o.duration - 1e-9) {
    let scene = randomScene(rng);
    // Consecutive scenes always differ in what a caption would say.
    while (scenes.length > 0 && canonicalCaption(scenes[scenes.length - 1].scene) === canonicalCaption(scene)) scene = randomScene(rng);
    let length = rng.range(o.minScene, o.maxScene);
    // Do not leave a sliver of a scene at the end.
    if (o.duration - (t + length) < o.minScene) length = o.duration - t;
    scenes.push({ scene, start: t, end: t + length });
    t += length;
    if (t < o.duration - 1e-9) {
      const kind = rng.weighted<TransitionKind>(Object.entries(o.transitions) as [TransitionKind, number][]);
      const duration = kind === 'cut' ? 0 : kind === 'fade' ? rng.range(0.5, 1) : rng.range(0.6, 1.2);
      transitions.push({ kind, at: t, duration });
    }
  }
  return { seed, width: o.width, height: o.height, fps: o.fps, duration: o.duration, noise: o.noise, scenes, transitions };
}

export function frameCount(script: VideoScript): number {
  return Math.round(script.duration * script.fps);
}

/** Renders every frame of the script in order. Backgrounds are rendered once per scene. */
export function* videoFrames(script: VideoScript): Generator<Frame> {
  const backgrounds = new Map<number, Frame>();
  const sceneFrame = (index: number, t: number): Frame => {
    const { scene, start } = script.scenes[index];
    let bg = backgrounds.get(index);
    if (!bg) {
      bg = renderBackground(scene.background, scene.textureSeed, script.width, script.height);
      backgrounds.set(index, bg);
      backgrounds.delete(index - 2);
    }
    return renderOver(bg, advanceScene(scene, t - start));
  };
  const noise = new Rng(script.seed ^ 0x6e6f6973);
  const total = frameCount(script);
  for (let k = 0; k < total; k++) {
    const t = k / script.fps;
    const index = sceneIndexAt(script, t);
    let frame = sceneFrame(index, t);
    const near = nearestTransition(script, t);
    if (near && near.transition.duration > 0) {
      const { transition, before } = near;
      const p = (t - (transition.at - transition.duration / 2)) / transition.duration; // 0..1
      if (p >= 0 && p <= 1) {
        const from = sceneFrame(before, t);
        const to = sceneFrame(before + 1, t);
        frame = transition.kind === 'dissolve' ? blendFrames(from, to, p) : p < 0.5 ? dimFrame(from, 1 - 2 * p) : dimFrame(to, 2 * p - 1);
      }
    }
    if (script.noise > 0) addNoise(frame, noise, script.noise);
    yield frame;
  }
}

function sceneIndexAt(script: VideoScript, t: number): number {
  for (let i = script.scenes.length - 1; i >= 0; i--) if (t >= script.scenes[i].start) return i;
  return 0;
}

function nearestTransition(script: VideoScript, t: number): { transition: Transition; before: number } | undefined {
  let best: { transition: Transition; before: number } | undefined;
  script.transitions.forEach((transition, before) => {
    if (!best || Math.abs(transition.at - t) < Math.abs(best.transition.at - t)) best = { transition, before };
  });
  return best;
}

function addNoise(frame: Frame, rng: Rng, amplitude: number): void {
  const d = frame.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] + (rng.next() + rng.next() - 1) * amplitude;
    d[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

/** What a scene detector, a captioner and a summarizer are measured against. */
export interface VideoGroundTruth {
  seed: number;
  width: number;
  height: number;
  fps: number;
  duration: number;
  /** Scene boundaries in seconds, with the transition that makes each one. */
  cuts: Transition[];
  scenes: { start: number; end: number; caption: string; captions: string[]; scene: Scene }[];
  summary: string;
}

export function groundTruth(script: VideoScript): VideoGroundTruth {
  return {
    seed: script.seed,
    width: script.width,
    height: script.height,
    fps: script.fps,
    duration: script.duration,
    cuts: script.transitions,
    scenes: script.scenes.map(({ scene, start, end }) => ({ start, end, caption: canonicalCaption(scene), captions: captionsFor(scene), scene })),
    summary: summaryFor(script.scenes.map((s) => s.scene)),
  };
}

/** The ground-truth path beside a video: clip.mp4 → clip.json. */
export function groundTruthPath(videoPath: string): string {
  return videoPath.replace(/\.[^./]+$/, '') + '.json';
}

/**
 * Encodes the script as an H.264 MP4 through ffmpeg and writes its ground truth beside it.
 * Returns the ground truth.
 */
export async function writeVideo(script: VideoScript, outPath: string): Promise<VideoGroundTruth> {
  const frames = (function* () {
    for (const f of videoFrames(script)) yield f.data;
  })();
  await runFfmpeg(
    [
      '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${script.width}x${script.height}`, '-r', String(script.fps), '-i', 'pipe:0',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-g', String(script.fps * 2),
      '-movflags', '+faststart', outPath,
    ],
    { input: frames, label: `encoding ${outPath}` },
  );
  const truth = groundTruth(script);
  await writeFile(groundTruthPath(outPath), JSON.stringify(truth, null, 2) + '\n');
  return truth;
}
