/**
 * Real footage with known edits, for measuring scene detection on something other than the
 * synthetic world.
 *
 * The raw material is the sample media that Debian ships in `opencv-doc`
 * (/usr/share/doc/opencv-doc/examples/data): `vtest.avi` (a fixed surveillance camera, people
 * walking), `tree.avi` (a webcam on a tree; a hand waves in front of it near the end),
 * `Megamind.avi` (an animated clip of four shots) and still photos. Clips are assembled from
 * them with ffmpeg, so the ground truth is how they were assembled:
 *
 *  - segments: a stretch of a video, one shot of the animated clip, the whole animated clip
 *    (its own three cuts are ground truth too, found by eye), a steady pan over a photo (a
 *    moving crop) or a zoom into one;
 *  - joined by hard cuts, or by dissolves and fades through black or white (ffmpeg `xfade`);
 *  - and clips of one segment each (local motion, a hand, pans, zooms) where nothing is a cut.
 *
 * Media files are never part of the repository: `mediaDir` is opencv-doc's data folder as
 * scripts/fetch-real-media.sh unpacks it (see real-media.ts).
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg } from '../src/media/ffmpeg.js';
import { Rng } from '../src/util/rng.js';
import type { Transition, TransitionKind } from '../src/synth/video.js';
import { opencvData, realMediaRoot, REAL_MEDIA_ENV } from './real-media.js';

const W = 320;
const H = 240;
const FPS = 25;

/** The animated clip's shots, in seconds (its cuts were found by eye, frame by frame). */
const MEGAMIND_CUTS = [4.129, 6.465, 8.383];
const MEGAMIND_SHOTS: [number, number][] = [
  [0.3, 4.0],
  [4.25, 6.35],
  [6.6, 8.3],
  [8.5, 11.2],
];
const PHOTOS = [
  'building.jpg',
  'starry_night.jpg',
  'leuvenA.jpg',
  'graf1.png',
  'aloeL.jpg',
  'ela_original.jpg',
  'pca_test1.jpg',
  'board.jpg',
  'stuff.jpg',
  'aero1.jpg',
  'basketball1.png',
  'left01.jpg',
];

type Segment =
  | { kind: 'video'; source: string; file: string; from: number; length: number; crop?: string; cuts?: number[] }
  | { kind: 'pan'; source: string; file: string; length: number; scaleTo: number; vertical: boolean; reverse: boolean }
  | { kind: 'zoom'; source: string; file: string; length: number; zoom: number };

export interface FootageClip {
  path: string;
  /** Seconds of video. */
  duration: number;
  cuts: Transition[];
  /** What is in it, for a reader of the results. */
  description: string;
}

export interface FootageSet {
  name: string;
  clips: FootageClip[];
}

/** opencv-doc's data folder (real-media.ts), or undefined with the reason it cannot be used. */
export async function footageDir(env: NodeJS.ProcessEnv = process.env): Promise<{ dir?: string; reason?: string }> {
  const dir = opencvData(realMediaRoot(env));
  for (const f of ['vtest.avi', 'tree.avi', 'Megamind.avi', ...PHOTOS]) {
    try {
      await access(join(dir, f));
    } catch {
      return { reason: `no ${f} in ${dir}: run scripts/fetch-real-media.sh (CI does), or set ${REAL_MEDIA_ENV} to where it unpacked them` };
    }
  }
  return { dir };
}

function segmentPool(rng: Rng): Segment[] {
  const pool: Segment[] = [];
  const len = () => Math.round(rng.range(3, 6) * FPS) / FPS;
  for (let k = 0; k < 4; k++) {
    const length = len();
    pool.push({ kind: 'video', source: 'vtest', file: 'vtest.avi', from: Math.round(rng.range(0, 78 - length) * 10) / 10, length });
  }
  for (let k = 0; k < 2; k++) {
    const length = len();
    pool.push({ kind: 'video', source: 'tree', file: 'tree.avi', from: Math.round(rng.range(0, 22 - length) * 10) / 10, length });
  }
  // The hand waving in front of the webcam.
  pool.push({ kind: 'video', source: 'tree', file: 'tree.avi', from: 23, length: 5.6 });
  for (const [from, to] of MEGAMIND_SHOTS) pool.push({ kind: 'video', source: 'megamind', file: 'Megamind.avi', from, length: Math.round((to - from) * FPS) / FPS, crop: '704:528' });
  for (const file of rng.shuffle([...PHOTOS]).slice(0, 6)) {
    if (rng.chance(0.6)) pool.push({ kind: 'pan', source: file, file, length: len(), scaleTo: rng.pick([360, 420, 480]), vertical: rng.chance(0.3), reverse: rng.chance(0.5) });
    else pool.push({ kind: 'zoom', source: file, file, length: len(), zoom: rng.range(1.4, 2) });
  }
  return pool;
}

/** Segments in an order where no two neighbours come from the same source. */
function sequence(rng: Rng, count: number, minLength = 0): Segment[] {
  for (;;) {
    const pool = rng.shuffle(segmentPool(rng).filter((s) => s.length >= minLength));
    const out: Segment[] = [];
    for (const s of pool) {
      if (out.length === count) break;
      if (out.length && out[out.length - 1].source === s.source) continue;
      out.push(s);
    }
    if (out.length === count) return out;
  }
}

function inputArgs(dir: string, s: Segment): string[] {
  if (s.kind === 'video') return ['-ss', String(s.from), '-t', String(s.length + 1), '-i', join(dir, s.file)];
  return ['-loop', '1', '-framerate', String(FPS), '-t', String(s.length + 1), '-i', join(dir, s.file)];
}

/** The filter that turns input `i` into exactly `length` seconds of 320×240 at 25 fps. */
function segmentFilter(i: number, s: Segment): string {
  // Timestamps from zero before the frame-rate conversion, and a frame count rather than a
  // duration, so that every segment is exactly as long as the ground truth says.
  const norm = `setpts=PTS-STARTPTS,fps=${FPS},trim=end_frame=${Math.round(s.length * FPS)},setpts=PTS-STARTPTS,setsar=1,format=yuv420p,settb=1/${FPS}`;
  if (s.kind === 'video') return `[${i}:v]${s.crop ? `crop=${s.crop},` : ''}scale=${W}:${H},${norm}[s${i}]`;
  if (s.kind === 'pan') {
    const p = s.reverse ? `(1-t/${s.length})` : `(t/${s.length})`;
    const scale = s.vertical ? `scale=${W * 1.25}:-2` : `scale=-2:${s.scaleTo}`;
    const x = s.vertical ? `(iw-${W})/2` : `(iw-${W})*${p}`;
    const y = s.vertical ? `(ih-${H})*${p}` : `(ih-${H})/2`;
    return `[${i}:v]${scale},crop=${W}:${H}:x='${x}':y='${y}',${norm}[s${i}]`;
  }
  const frames = Math.round(s.length * FPS);
  return `[${i}:v]scale=-2:${H * 4},zoompan=z='1+${(s.zoom - 1).toFixed(3)}*on/${frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=${W}x${H}:fps=${FPS},${norm}[s${i}]`;
}

function describe(s: Segment): string {
  if (s.kind === 'video') return `${s.file}@${s.from}+${s.length.toFixed(2)}`;
  return `${s.kind} ${s.file} ${s.length.toFixed(2)}s`;
}

/**
 * Encodes segments joined by the given transitions (one fewer than segments) and returns the
 * clip's ground truth: every join, plus the animated clip's own cuts where it plays whole.
 */
async function assemble(dir: string, path: string, segments: Segment[], joins: { kind: TransitionKind; duration: number }[]): Promise<FootageClip> {
  const filters = segments.map((s, i) => segmentFilter(i, s));
  const cuts: Transition[] = [];
  let label = 's0';
  let end = segments[0].length;
  const inner = (s: Segment, offset: number) => {
    if (s.kind === 'video' && s.cuts) for (const c of s.cuts) cuts.push({ kind: 'cut', at: Number((offset + c).toFixed(3)), duration: 0 });
  };
  inner(segments[0], 0);
  for (let k = 1; k < segments.length; k++) {
    const j = joins[k - 1];
    const out = `j${k}`;
    if (j.kind === 'cut') {
      filters.push(`[${label}][s${k}]concat=n=2:v=1:a=0[${out}]`);
      cuts.push({ kind: 'cut', at: Number(end.toFixed(3)), duration: 0 });
      inner(segments[k], end);
      end += segments[k].length;
    } else {
      const offset = end - j.duration;
      const transition = j.kind === 'dissolve' ? 'fade' : j.duration > 0.9 ? 'fadewhite' : 'fadeblack';
      filters.push(`[${label}][s${k}]xfade=transition=${transition}:duration=${j.duration}:offset=${offset.toFixed(3)}[${out}]`);
      cuts.push({ kind: j.kind, at: Number((offset + j.duration / 2).toFixed(3)), duration: j.duration });
      inner(segments[k], offset);
      end = offset + segments[k].length;
    }
    label = out;
  }
  const clip: FootageClip = {
    path,
    duration: Number(end.toFixed(3)),
    cuts,
    description: segments.map((s, i) => (i ? `${joins[i - 1].kind} ` : '') + describe(s)).join(' | '),
  };
  try {
    await access(path);
    return clip;
  } catch {
    // not encoded yet
  }
  await runFfmpeg(
    [
      '-y',
      ...segments.flatMap((s) => inputArgs(dir, s)),
      '-filter_complex',
      filters.join(';'),
      '-map',
      `[${label}]`,
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '20',
      '-pix_fmt',
      'yuv420p',
      '-g',
      String(FPS * 2),
      path,
    ],
    { label: `assembling ${path}` },
  );
  await writeFile(path.replace(/\.mp4$/, '.json'), JSON.stringify(clip, null, 2) + '\n');
  return clip;
}

export interface FootageOptions {
  /** Clips per edited set (default 3). */
  clips?: number;
  /** Segments per edited clip (default 8). */
  segments?: number;
  /** The first clip's number (default 0): clips from another number on are new clips, for held-out checks. */
  first?: number;
}

/**
 * Builds (or reuses, from `outDir`) three sets of real clips: hard cuts between segments,
 * fades and dissolves between segments, and single segments with motion but no edit.
 */
export async function footageSets(mediaDir: string, outDir: string, options: FootageOptions = {}): Promise<FootageSet[]> {
  const clips = options.clips ?? 3;
  const count = options.segments ?? 8;
  await mkdir(outDir, { recursive: true });
  const hard: FootageClip[] = [];
  const gradual: FootageClip[] = [];
  const first = options.first ?? 0;
  for (let c = first; c < first + clips; c++) {
    const rng = new Rng(`hard-${c}`);
    const segments = sequence(rng, count);
    // One clip in each edited set plays the animated clip whole, with its own three cuts.
    if (c === 0) {
      const at = segments.findIndex((s, i) => i > 0 && s.source !== 'megamind' && segments[i - 1].source !== 'megamind');
      segments.splice(at, 0, { kind: 'video', source: 'megamind', file: 'Megamind.avi', from: 0.3, length: 10.88, crop: '704:528', cuts: MEGAMIND_CUTS.map((t) => t - 0.3) });
    }
    hard.push(
      await assemble(
        mediaDir,
        join(outDir, `hard-${c}.mp4`),
        segments,
        segments.slice(1).map(() => ({ kind: 'cut', duration: 0 })),
      ),
    );
  }
  for (let c = first; c < first + clips; c++) {
    const rng = new Rng(`gradual-${c}`);
    // Long enough that a scene is still seen whole between two transitions.
    const segments = sequence(rng, count, 3.5);
    const joins = segments.slice(1).map(() => {
      const kind = rng.weighted<TransitionKind>([
        ['dissolve', 0.5],
        ['fade', 0.5],
      ]);
      return { kind, duration: Math.round(rng.range(0.5, 1.4) * FPS) / FPS };
    });
    gradual.push(await assemble(mediaDir, join(outDir, `gradual-${c}.mp4`), segments, joins));
  }
  const still: FootageClip[] = [];
  const singles: Segment[] = [
    { kind: 'video', source: 'vtest', file: 'vtest.avi', from: 0, length: 78 },
    { kind: 'video', source: 'tree', file: 'tree.avi', from: 0, length: 28.6 },
    ...MEGAMIND_SHOTS.map(([from, to]): Segment => ({ kind: 'video', source: 'megamind', file: 'Megamind.avi', from, length: Math.round((to - from) * FPS) / FPS, crop: '704:528' })),
    { kind: 'pan', source: 'p', file: 'building.jpg', length: 8, scaleTo: 480, vertical: false, reverse: false },
    { kind: 'pan', source: 'p', file: 'starry_night.jpg', length: 6, scaleTo: 420, vertical: false, reverse: true },
    { kind: 'pan', source: 'p', file: 'leuvenA.jpg', length: 6, scaleTo: 360, vertical: true, reverse: false },
    { kind: 'pan', source: 'p', file: 'aloeL.jpg', length: 5, scaleTo: 480, vertical: false, reverse: false },
    { kind: 'zoom', source: 'p', file: 'graf1.png', length: 6, zoom: 2 },
    { kind: 'zoom', source: 'p', file: 'pca_test1.jpg', length: 5, zoom: 1.6 },
    { kind: 'zoom', source: 'p', file: 'board.jpg', length: 5, zoom: 1.8 },
  ];
  for (const [k, s] of singles.entries()) still.push(await assemble(mediaDir, join(outDir, `motion-${k}.mp4`), [s], []));
  return [
    { name: 'real: hard cuts', clips: hard },
    { name: 'real: fades and dissolves', clips: gradual },
    { name: 'real: motion, no edit', clips: still },
  ];
}
