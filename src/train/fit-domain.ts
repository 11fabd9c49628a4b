/**
 * Fits and calibrates a captioner's out-of-domain detector (models/captioner/domain.ts), then
 * measures it, for `livecap domain`:
 *
 *  - fitted on the synthetic world the embedded model learnt: rendered pictures, a third of them
 *    through JPEG at random qualities (cameras and the live path compress), and frames of
 *    synthetic videos (camera noise, drifting objects, transitions);
 *  - as they are and stretched to full contrast (two detectors), both views side by side (a
 *    third, with more directions: it sees a foggy or infrared camera that neither view alone
 *    tells from the synthetic world once the backbone is fine-tuned), with the lowest contrast seen;
 *  - each threshold set at a quantile of held-out renders drawn with another seed;
 *  - checked on a synthetic video through H.264 (the live demo's path) and on any real photos
 *    and footage given, each set reported as pictures and how many were flagged.
 *
 * The detector and its numbers go into the model folder (domain.json, domain.bin), and the
 * manifest gets the domain's description in words and the detector's file name.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Tensor2D } from '@tensorflow/tfjs';
import { CnnLstmCaptioner } from '../models/captioner/captioner.js';
import { DomainDetector, DomainModel, DOMAIN_FIT_DEFAULTS } from '../models/captioner/domain.js';
import { lumaStats, stretchContrast } from '../media/contrast.js';
import { MANIFEST_FILE } from '../models/captioner/model-dir.js';
import { decodeImage, encodeJpeg, readImage, resizeFrame } from '../media/image.js';
import { sampleVideoFrames } from '../ingest/sample-frames.js';
import { renderScene } from '../synth/render.js';
import { describeWorld, randomScene } from '../synth/world.js';
import { videoFrames, videoScript, writeVideo } from '../synth/video.js';
import { DATASET_IMAGE_SIZE } from '../synth/dataset.js';
import { Rng } from '../util/rng.js';
import { Progress } from '../util/progress.js';
import type { Frame } from '../core/frame.js';
import type { Tf } from '../models/tfjs/tf.js';

export interface DomainJob {
  modelDir: string;
  /** Synthetic renders to fit on (default 2,000; half as many again through JPEG). */
  pictures?: number;
  /** Held-out renders to set the threshold on (default 1,000). */
  heldout?: number;
  seed?: number;
  /** Share of held-out in-domain pictures kept under the threshold (default 0.99). */
  quantile?: number;
  components?: number;
  /** Real photos and footage to report on: image or video files, or folders of them. */
  real?: string[];
  /** The domain in words for the manifest (default: the synthetic world's). */
  description?: string;
}

export interface DomainSetReport {
  name: string;
  pictures: number;
  flagged: number;
  rate: number;
}

export interface DomainReport {
  thresholds: { features: number; stretched: number; joint: number; minContrast: number };
  components: number;
  fitted: number;
  sets: DomainSetReport[];
  seconds: number;
}

export const DOMAIN_JOB_DEFAULTS = { pictures: 2000, heldout: 1000, seed: 101, quantile: 0.995 } as const;

/** Directions of the joint detector (plain and stretched features side by side): 64 missed fog; 128 flagged 69% of fogged footage on the fifth-stage model, 192 flags 95% (bench/RESULTS.md). */
const JOINT_COMPONENTS = 192;

/** A frame's plain and stretched features in one row [2F]. */
const sideBySide = (looks: Looks): Float32Array[] =>
  looks.plain.map((row, i) => {
    const both = new Float32Array(row.length * 2);
    both.set(row);
    both.set(looks.stretched[i]!, row.length);
    return both;
  });

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);
const VIDEO_EXTENSIONS = new Set(['.avi', '.mp4', '.mkv', '.mov', '.webm', '.ts', '.m4v']);
const { width: W, height: H } = DATASET_IMAGE_SIZE;

function renders(seed: number, count: number): Frame[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => renderScene(randomScene(rng), W, H));
}

/** Every `every`-th frame of a synthetic video, at the dataset's size. */
function syntheticVideoFrames(seed: number, seconds: number, every: number): Frame[] {
  const out: Frame[] = [];
  let k = 0;
  for (const frame of videoFrames(videoScript(seed, { duration: seconds }))) if (k++ % every === 0) out.push(resizeFrame(frame, W, H));
  return out;
}

/** Real pictures under a path: images as they are, videos sampled at one frame a second. */
export async function realPictures(path: string, maxPerVideo = 120): Promise<Frame[]> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${path}: cannot read (${err.code ?? err.message})`);
  });
  if (info.isDirectory()) {
    const names = (await readdir(path)).sort();
    const out: Frame[] = [];
    for (const name of names) {
      const ext = extname(name).toLowerCase();
      if (IMAGE_EXTENSIONS.has(ext) || VIDEO_EXTENSIONS.has(ext)) out.push(...(await realPictures(join(path, name), maxPerVideo)));
    }
    return out;
  }
  const ext = extname(path).toLowerCase();
  if (VIDEO_EXTENSIONS.has(ext)) return sampleVideoFrames(path, { fps: 1, width: W, height: H, limit: maxPerVideo });
  // A picture that cannot be decoded (an odd PNG, say) is skipped with a note, not fatal.
  try {
    return [resizeFrame(await readImage(path), W, H)];
  } catch (err) {
    process.stderr.write(`livecap domain: skipped ${path}: ${(err as Error).message}\n`);
    return [];
  }
}

/** What the detector looks at in each frame: its features, those of its stretched copy, its contrast. */
interface Looks {
  plain: Float32Array[];
  stretched: Float32Array[];
  contrast: number[];
}

async function featureRows(captioner: CnnLstmCaptioner, frames: readonly Frame[]): Promise<Float32Array[]> {
  const rows: Float32Array[] = [];
  for (let i = 0; i < frames.length; i += 32) {
    const batch = frames.slice(i, i + 32);
    const features: Tensor2D = captioner.features(batch);
    const data = (await features.data()) as Float32Array;
    const F = features.shape[1];
    features.dispose();
    for (let j = 0; j < batch.length; j++) rows.push(data.slice(j * F, (j + 1) * F));
  }
  return rows;
}

async function looksOf(captioner: CnnLstmCaptioner, frames: readonly Frame[], progress?: Progress): Promise<Looks> {
  const looks: Looks = { plain: [], stretched: [], contrast: [] };
  for (let i = 0; i < frames.length; i += 64) {
    const batch = frames.slice(i, i + 64);
    const stats = batch.map((f) => lumaStats(f));
    looks.plain.push(...(await featureRows(captioner, batch)));
    looks.stretched.push(
      ...(await featureRows(
        captioner,
        batch.map((f, j) => stretchContrast(f, stats[j])),
      )),
    );
    looks.contrast.push(...stats.map((s) => s.std));
    progress?.tick(batch.length);
  }
  return looks;
}

/** How much flatter than the flattest training picture a frame must be to be called flat. */
const FLAT_MARGIN = 0.9;

export async function fitDomain(tf: Tf, job: DomainJob): Promise<DomainReport> {
  const started = Date.now();
  const o = { ...DOMAIN_JOB_DEFAULTS, ...job };
  // Without its detector: one may not exist yet, or be stale; only the backbone is used.
  const captioner = await CnnLstmCaptioner.load(tf, job.modelDir, { domain: false });
  try {
    const jpegRng = new Rng(o.seed + 7);
    const fitFrames = [
      ...renders(o.seed, o.pictures),
      ...renders(o.seed + 2, Math.round(o.pictures / 2)).map((f) => decodeImage(encodeJpeg(f, jpegRng.int(50, 95)))),
      ...syntheticVideoFrames(o.seed + 1, 60, 5),
    ];
    const heldoutFrames = renders(o.seed + 100, o.heldout);
    const progress = new Progress({ label: 'domain features', total: fitFrames.length + heldoutFrames.length });
    const fit = await looksOf(captioner, fitFrames, progress);
    const heldout = await looksOf(captioner, heldoutFrames, progress);
    const components = o.components ?? DOMAIN_FIT_DEFAULTS.components;
    process.stderr.write(`livecap domain: fitting ${components} directions to ${fitFrames.length} pictures, as they are and stretched to full contrast\n`);
    const detector = (rows: Float32Array[], held: Float32Array[], k = components) => {
      const d = DomainDetector.fit(rows, { components: k, seed: o.seed });
      d.calibrate(
        held.map((r) => d.distance(r)),
        o.quantile,
      );
      return d;
    };
    // Flat is judged against the pictures the model learnt from, not the video frames, which pass
    // through fades to black.
    const rendered = o.pictures + Math.round(o.pictures / 2);
    const model = new DomainModel(
      detector(fit.plain, heldout.plain),
      detector(fit.stretched, heldout.stretched),
      FLAT_MARGIN * Math.min(...fit.contrast.slice(0, rendered)),
      undefined,
      detector(sideBySide(fit), sideBySide(heldout), Math.max(components, JOINT_COMPONENTS)),
    );
    const measure = (name: string, looks: Looks): DomainSetReport => {
      const flagged = looks.plain.filter(
        (row, i) => model.judge(model.features.distance(row), model.stretched.distance(looks.stretched[i]!), looks.contrast[i]!, model.jointDistance(row, looks.stretched[i]!)).outOfDomain,
      ).length;
      const pictures = looks.plain.length;
      return { name, pictures, flagged, rate: pictures ? flagged / pictures : 0 };
    };
    const sets = [measure('held-out synthetic pictures', heldout)];
    // The demo's path: a synthetic video encoded with H.264 and decoded by ffmpeg.
    const tmp = await mkdtemp(join(tmpdir(), 'livecap-domain-'));
    try {
      const clip = join(tmp, 'heldout.mp4');
      await writeVideo(videoScript(o.seed + 200, { duration: 60 }), clip);
      sets.push(measure('held-out synthetic video (H.264)', await looksOf(captioner, await sampleVideoFrames(clip, { fps: 2, width: W, height: H }))));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    for (const path of o.real ?? []) sets.push(measure(`real: ${setName(path)}`, await looksOf(captioner, await realPictures(path))));
    model.calibration = {
      fitted: fitFrames.length,
      quantile: o.quantile,
      heldout: { pictures: sets[0]!.pictures, flagged: sets[0]!.flagged },
      real: Object.fromEntries(sets.filter((s) => s.name.startsWith('real: ')).map((s) => [s.name.slice(6), { pictures: s.pictures, flagged: s.flagged }])),
    };
    await model.save(join(job.modelDir, 'domain.json'));
    await writeManifestDomain(job.modelDir, job.description ?? describeWorld(), 'domain.json');
    return {
      thresholds: { features: model.features.threshold, stretched: model.stretched.threshold, joint: model.joint!.threshold, minContrast: model.minContrast },
      components,
      fitted: fitFrames.length,
      sets,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    captioner.dispose();
  }
}

/** A real set's name: the last two parts of its path (folders of samples are often just "data"). */
function setName(path: string): string {
  return path.replace(/\/+$/, '').split('/').slice(-2).join('/');
}

/** Sets the manifest's domain (description and detector), keeping everything else as it was. */
async function writeManifestDomain(modelDir: string, description: string, detector: string): Promise<void> {
  const file = join(modelDir, MANIFEST_FILE);
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  manifest.domain = { description, detector };
  await writeFile(file, JSON.stringify(manifest, null, 2) + '\n');
}

export function formatDomainReport(report: DomainReport): string {
  const t = report.thresholds;
  const lines = [
    `thresholds ${t.features.toFixed(2)} (features), ${t.stretched.toFixed(2)} (stretched), ${t.joint.toFixed(2)} (joint), contrast under ${t.minContrast.toFixed(1)} is flat (${report.components} directions, fitted on ${report.fitted} pictures, ${report.seconds.toFixed(0)} s)`,
  ];
  for (const s of report.sets) lines.push(`  ${s.name.padEnd(40)} ${String(s.flagged).padStart(5)} of ${String(s.pictures).padStart(5)} flagged (${(100 * s.rate).toFixed(1)}%)`);
  return lines.join('\n');
}
