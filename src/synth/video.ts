/**
 * Synthetic videos: a scripted sequence of scenes with hard cuts, fades through black and
 * dissolves, objects drifting within each scene, light camera noise, and the ground truth a
 * scene detector and a summarizer are measured against.
 */
import { writeFile } from 'node:fs/promises';
import { Rng } from '../util/rng.js';
import { runFfmpeg } from '../media/ffmpeg.js';
import { blendFrames, dimFrame, renderBackground, renderOver } from './render.js';
import { canonicalCaption, captionsFor, summaryFor } from './grammar.js';
import { advanceScene, randomScene, type Scene } from './world.js';
import type { Frame } from '../core/frame.js';

export type TransitionKind = 'cut' | 'fade' | 'dissolve';

export interface ScriptedScene {
  scene: Scene;
  /** Seconds; the scene owns [start, end). A transition straddles the boundary. */
  start: number;
  end: number;
  /** A camera that pans or zooms through the scene, and objects that sweep across it. */
  camera?: CameraMove;
}

/**
 * A steady camera move over a scene rendered larger than the frame: the view's centre (0..1 of
 * the larger picture) and zoom (1: the widest view) go linearly from `from` to `to` over the
 * scene; objects swing left and right by `sweep` (a share of the width) every `period` seconds.
 */
export interface CameraMove {
  from: { x: number; y: number; zoom: number };
  to: { x: number; y: number; zoom: number };
  sweep: number;
  period: number;
}

/** How much larger than the frame a scene with a camera move is rendered. */
const CAMERA_MARGIN = 1.5;

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
  /** Share of scenes (0..1) filmed by a panning or zooming camera, with objects sweeping across. */
  camera?: number;
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
  camera: 0,
} as const;

/** Draws a video script from a seed. The same seed and options always give the same video. */
export function videoScript(seed: number, options: VideoOptions = {}): VideoScript {
  const o = { ...VIDEO_DEFAULTS, ...options, transitions: { ...VIDEO_DEFAULTS.transitions, ...options.transitions } };
  const rng = new Rng(seed);
  const cameraRng = new Rng(seed ^ 0x63616d65);
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
    // Camera moves come from their own generator, so that scripts without them stay as they were.
    const camera = o.camera > 0 && cameraRng.chance(o.camera) ? cameraMove(cameraRng) : undefined;
    scenes.push({ scene, start: t, end: t + length, ...(camera ? { camera } : {}) });
    t += length;
    if (t < o.duration - 1e-9) {
      const kind = rng.weighted<TransitionKind>(Object.entries(o.transitions) as [TransitionKind, number][]);
      const duration = kind === 'cut' ? 0 : kind === 'fade' ? rng.range(0.5, 1) : rng.range(0.6, 1.2);
      transitions.push({ kind, at: t, duration });
    }
  }
  return { seed, width: o.width, height: o.height, fps: o.fps, duration: o.duration, noise: o.noise, scenes, transitions };
}

function cameraMove(rng: Rng): CameraMove {
  const kind = rng.pick(['pan', 'tilt', 'zoom', 'pan and zoom'] as const);
  const zoomFrom = kind === 'zoom' || kind === 'pan and zoom' ? rng.range(1, 1.1) : 1;
  const zoomTo = kind === 'zoom' || kind === 'pan and zoom' ? rng.range(1.4, 1.8) : 1;
  const [z0, z1] = rng.chance(0.5) ? [zoomFrom, zoomTo] : [zoomTo, zoomFrom];
  // The widest view covers 1/CAMERA_MARGIN of the picture; its centre stays inside it.
  const room = (zoom: number) => 0.5 - 0.5 / (CAMERA_MARGIN * zoom);
  const r = Math.min(room(z0), room(z1));
  const along = (moves: boolean) => (moves ? rng.range(0.6, 1) * r : 0);
  const dx = along(kind === 'pan' || kind === 'pan and zoom') * (rng.chance(0.5) ? 1 : -1);
  const dy = along(kind === 'tilt') * (rng.chance(0.5) ? 1 : -1);
  return {
    from: { x: 0.5 - dx, y: 0.5 - dy, zoom: z0 },
    to: { x: 0.5 + dx, y: 0.5 + dy, zoom: z1 },
    sweep: rng.range(0.1, 0.25),
    period: rng.range(2, 4),
  };
}

/** The camera's view of a larger picture: bilinear samples of the window it frames. */
function cameraView(big: Frame, cx: number, cy: number, zoom: number, width: number, height: number): Frame {
  const out = new Uint8Array(width * height * 3);
  const vw = 1 / (CAMERA_MARGIN * zoom);
  const x0 = (cx - vw / 2) * big.width;
  const y0 = (cy - vw / 2) * big.height;
  const sx = (vw * big.width) / width;
  const sy = (vw * big.height) / height;
  const d = big.data;
  for (let py = 0; py < height; py++) {
    const by = Math.min(big.height - 1.001, Math.max(0, y0 + (py + 0.5) * sy - 0.5));
    const iy = Math.floor(by);
    const fy = by - iy;
    for (let px = 0; px < width; px++) {
      const bx = Math.min(big.width - 1.001, Math.max(0, x0 + (px + 0.5) * sx - 0.5));
      const ix = Math.floor(bx);
      const fx = bx - ix;
      const a = (iy * big.width + ix) * 3;
      const b = a + big.width * 3;
      const o = (py * width + px) * 3;
      for (let c = 0; c < 3; c++) {
        const top = d[a + c] + (d[a + 3 + c] - d[a + c]) * fx;
        const bottom = d[b + c] + (d[b + 3 + c] - d[b + c]) * fx;
        out[o + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { width, height, data: out };
}

export function frameCount(script: VideoScript): number {
  return Math.round(script.duration * script.fps);
}

/** Renders every frame of the script in order. Backgrounds are rendered once per scene. */
export function* videoFrames(script: VideoScript): Generator<Frame> {
  const backgrounds = new Map<number, Frame>();
  const sceneFrame = (index: number, t: number): Frame => {
    const { scene, start, end, camera } = script.scenes[index];
    const scale = camera ? CAMERA_MARGIN : 1;
    let bg = backgrounds.get(index);
    if (!bg) {
      bg = renderBackground(scene.background, scene.textureSeed, Math.round(script.width * scale), Math.round(script.height * scale));
      backgrounds.set(index, bg);
      backgrounds.delete(index - 2);
    }
    const moved = advanceScene(scene, t - start);
    if (!camera) return renderOver(bg, moved);
    const swing = camera.sweep * Math.sin((2 * Math.PI * (t - start)) / camera.period);
    const swept = { ...moved, objects: moved.objects.map((o, k) => ({ ...o, x: Math.min(0.95, Math.max(0.05, o.x + (k % 2 ? -swing : swing))) })) };
    const p = Math.min(1, Math.max(0, (t - start) / Math.max(1e-9, end - start)));
    const lerp = (a: number, b: number) => a + (b - a) * p;
    return cameraView(renderOver(bg, swept), lerp(camera.from.x, camera.to.x), lerp(camera.from.y, camera.to.y), lerp(camera.from.zoom, camera.to.zoom), script.width, script.height);
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
    d[i] = Math.min(255, Math.max(0, v));
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
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${script.width}x${script.height}`,
      '-r',
      String(script.fps),
      '-i',
      'pipe:0',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
      '-g',
      String(script.fps * 2),
      '-movflags',
      '+faststart',
      outPath,
    ],
    { input: frames, label: `encoding ${outPath}` },
  );
  const truth = groundTruth(script);
  await writeFile(groundTruthPath(outPath), JSON.stringify(truth, null, 2) + '\n');
  return truth;
}
