/**
 * `livecap bench domain`: how often the embedded captioner's out-of-domain detector flags each
 * kind of picture, in-domain (held-out synthetic renders and an H.264 synthetic clip, drawn with
 * seeds that neither training nor the detector's fit used) and not (Debian's real photographs
 * and footage, the same made dark, foggy or infrared, blank frames). The figures behind README's
 * table in "Knowing what it does not know".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { loadTf } from '../src/models/tfjs/runtime.js';
import { CnnLstmCaptioner } from '../src/models/captioner/captioner.js';
import { EMBEDDED_CAPTIONER } from '../src/paths.js';
import { Rng } from '../src/util/rng.js';
import { randomScene } from '../src/synth/world.js';
import { renderScene } from '../src/synth/render.js';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { DATASET_IMAGE_SIZE } from '../src/synth/dataset.js';
import { readImage, resizeFrame } from '../src/media/image.js';
import { sampleVideoFrames } from '../src/ingest/sample-frames.js';
import { Progress } from '../src/util/progress.js';
import type { Frame } from '../src/core/frame.js';
import { realMedia, realMediaRoot } from './real-media.js';

const HELP = `usage: livecap bench domain [--model DIR] [--renders 1000] [--seed 301]

Flags pictures in and out of the embedded captioner's domain and prints, per set, how many its
detector marks out of domain. Real sets need scripts/fetch-real-media.sh.`;

const { width: W, height: H } = DATASET_IMAGE_SIZE;

/** A camera at night, in fog, in infrared: what the detector must still see as not its world. */
const LOOKS: Record<string, (f: Frame) => Frame> = {
  'at 30% brightness (night)': (f) => ({ ...f, data: Uint8Array.from(f.data, (v) => v * 0.3) }),
  'at 30% contrast (fog)': (f) => ({ ...f, data: Uint8Array.from(f.data, (v) => 128 + (v - 128) * 0.3) }),
  'grey at 40% plus 20 (infrared)': (f) => {
    const data = new Uint8Array(f.data.length);
    for (let i = 0; i < data.length; i += 3) data.fill(20 + 0.4 * (0.299 * f.data[i]! + 0.587 * f.data[i + 1]! + 0.114 * f.data[i + 2]!), i, i + 3);
    return { ...f, data };
  },
};

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { model: { type: 'string' }, renders: { type: 'string' }, seed: { type: 'string' } });
  const renders = numberFlag('renders', values.renders, 1000);
  const seed = numberFlag('seed', values.seed, 301);
  const { tf } = await loadTf();
  const captioner = await CnnLstmCaptioner.load(tf, values.model ?? EMBEDDED_CAPTIONER);
  if (!captioner.domain) throw new Error(`${values.model ?? EMBEDDED_CAPTIONER} has no out-of-domain detector`);
  const rows: { set: string; pictures: number; flagged: number; note?: string }[] = [];
  const flag = async (set: string, frames: Frame[], note?: (missed: number[]) => string) => {
    const bar = new Progress({ label: set, total: frames.length });
    const missed: number[] = [];
    let flagged = 0;
    for (let i = 0; i < frames.length; i += 32) {
      const captions = await captioner.captionAll(frames.slice(i, i + 32), { beamWidth: 1 });
      captions.forEach((c, k) => (c.outOfDomain ? flagged++ : missed.push(i + k)));
      bar.tick(captions.length);
    }
    bar.finish();
    rows.push({ set, pictures: frames.length, flagged, ...(note && missed.length ? { note: note(missed) } : {}) });
  };

  const rng = new Rng(seed);
  await flag(
    'held-out synthetic renders',
    Array.from({ length: renders }, () => renderScene(randomScene(rng), W, H)),
  );
  const tmp = await mkdtemp(join(tmpdir(), 'livecap-bench-domain-'));
  try {
    const clip = join(tmp, 'clip.mp4');
    await writeVideo(videoScript(seed + 200, { duration: 60 }), clip);
    await flag('held-out synthetic video through H.264 (the demo path)', await sampleVideoFrames(clip, { fps: 2, width: W, height: H }));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const media = realMedia();
  if (!media) process.stderr.write(`no real media under ${realMediaRoot()}: run scripts/fetch-real-media.sh for the real sets\n`);
  else {
    const photos = await Promise.all(media.photos.map(async (p) => resizeFrame(await readImage(p), W, H)));
    const names = media.photos.map((p) => p.split('/').pop());
    await flag('real photographs', photos, (missed) => `missed: ${missed.map((i) => names[i]).join(', ')}`);
    const footage: Frame[] = [];
    for (const [name, path] of [
      ['vtest.avi, fixed camera over people walking', media.surveillance],
      ['tree.avi, webcam on a tree', media.webcam],
      ['Megamind.avi, animated film', media.animation],
    ] as const) {
      const frames = await sampleVideoFrames(path, { fps: 1, width: W, height: H });
      footage.push(...frames);
      await flag(name, frames);
    }
    for (const [look, change] of Object.entries(LOOKS)) {
      await flag(`the footage ${look}`, footage.map(change));
      await flag(`the photographs ${look}`, photos.map(change));
    }
  }
  await flag(
    'blank frames, black to white',
    [0, 20, 64, 128, 200, 255].map((level) => ({ width: W, height: H, data: new Uint8Array(W * H * 3).fill(level) })),
  );
  captioner.dispose();

  console.log(`\nout-of-domain detector of ${values.model ?? EMBEDDED_CAPTIONER} (greedy captions; seed ${seed})\n`);
  console.log('| set | pictures | flagged out of domain |');
  console.log('|---|---|---|');
  for (const r of rows) console.log(`| ${r.set} | ${r.pictures} | ${r.flagged} (${((100 * r.flagged) / r.pictures).toFixed(1)}%)${r.note ? `; ${r.note}` : ''} |`);
  return 0;
}
