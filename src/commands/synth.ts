/** `livecap synth dataset|video`: write synthetic data from the scene world. */
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { intFlag, numberFlag, parseFlags, requiredFlag, wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';
import { writeDataset } from '../synth/dataset.js';
import { groundTruthPath, videoScript, writeVideo, VIDEO_DEFAULTS } from '../synth/video.js';

const DATASET_HELP = `usage: livecap synth dataset --out DIR --count N [--seed S]
      images and captions in the Flickr8k layout (Images/, captions.txt) plus scenes.jsonl`;
const VIDEO_HELP = `usage: livecap synth video --out FILE.mp4 [--seed S] [--duration SEC] [--width W] [--height H] [--fps F]
      an H.264 clip and its ground truth (cuts, scene captions, summary) as FILE.json`;
const HELP = `${DATASET_HELP}\n${VIDEO_HELP.replace('usage: ', '       ')}`;

export async function synthCommand(args: string[]): Promise<number> {
  const [kind, ...rest] = args;
  if (kind === 'dataset') {
    if (wantsHelp(rest, DATASET_HELP)) return 0;
    const { values } = parseFlags(rest, { out: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' } });
    const outDir = requiredFlag('out', values.out);
    const result = await writeDataset({ outDir, count: intFlag('count', values.count), seed: intFlag('seed', values.seed, 1) });
    console.log(`wrote ${result.images} images and ${result.captions} captions to ${outDir}`);
    return 0;
  }
  if (kind === 'video') {
    if (wantsHelp(rest, VIDEO_HELP)) return 0;
    const { values } = parseFlags(rest, {
      out: { type: 'string' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      fps: { type: 'string' },
    });
    const out = requiredFlag('out', values.out);
    const script = videoScript(intFlag('seed', values.seed, 1), {
      duration: numberFlag('duration', values.duration, VIDEO_DEFAULTS.duration),
      width: intFlag('width', values.width, VIDEO_DEFAULTS.width),
      height: intFlag('height', values.height, VIDEO_DEFAULTS.height),
      fps: intFlag('fps', values.fps, VIDEO_DEFAULTS.fps),
    });
    await mkdir(dirname(out), { recursive: true });
    const truth = await writeVideo(script, out);
    console.log(`wrote ${out} (${truth.duration}s, ${truth.scenes.length} scenes, ${truth.cuts.length} cuts) and ${groundTruthPath(out)}`);
    return 0;
  }
  if (wantsHelp(args, HELP)) return 0;
  throw new UsageError(kind ? `unknown synth kind '${kind}' (expected: dataset or video)\n\n${HELP}` : `expected: livecap synth dataset|video\n\n${HELP}`);
}
