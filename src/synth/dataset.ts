/**
 * Writes a synthetic captioning dataset in the Flickr8k layout, so the same training command
 * reads it and the real Flickr8k:
 *
 *   DIR/Images/synth-S-000001.jpg …
 *   DIR/captions.txt          `image,caption` header, then five rows per image
 *   DIR/scenes.jsonl          one line per image: its scene (ground truth for evaluation)
 *
 * The two index files are written under a `.partial` name and renamed once every picture is on
 * disk, so a dataset cut short (Ctrl-C, a lost session) never looks complete to a resumed
 * training script that checks for captions.txt.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { Rng } from '../util/rng.js';
import { Progress } from '../util/progress.js';
import { encodeJpeg } from '../media/image.js';
import { renderScene } from './render.js';
import { captionsFor } from './grammar.js';
import { randomScene } from './world.js';

export interface DatasetOptions {
  outDir: string;
  count: number;
  seed: number;
  width?: number;
  height?: number;
  /** Show a progress bar on stderr (default true). */
  progress?: boolean;
}

export const DATASET_IMAGE_SIZE = { width: 160, height: 120 } as const;

export function imageName(seed: number, index: number): string {
  return `synth-${seed}-${String(index).padStart(6, '0')}.jpg`;
}

export async function writeDataset(options: DatasetOptions): Promise<{ images: number; captions: number }> {
  const { outDir, count, seed } = options;
  const width = options.width ?? DATASET_IMAGE_SIZE.width;
  const height = options.height ?? DATASET_IMAGE_SIZE.height;
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive whole number, got ${count}`);
  await mkdir(join(outDir, 'Images'), { recursive: true });
  const captionsPath = join(outDir, 'captions.txt');
  const scenesPath = join(outDir, 'scenes.jsonl');
  const captions = createWriteStream(`${captionsPath}.partial`);
  const scenes = createWriteStream(`${scenesPath}.partial`);
  captions.write('image,caption\n');
  const rng = new Rng(seed);
  const bar = options.progress === false ? undefined : new Progress({ label: 'synth dataset', total: count });
  let rows = 0;
  for (let i = 1; i <= count; i++) {
    const scene = randomScene(rng);
    const name = imageName(seed, i);
    await writeFile(join(outDir, 'Images', name), encodeJpeg(renderScene(scene, width, height)));
    for (const caption of captionsFor(scene)) {
      if (!captions.write(`${name},${caption}\n`)) await once(captions, 'drain');
      rows++;
    }
    if (!scenes.write(JSON.stringify({ image: name, scene }) + '\n')) await once(scenes, 'drain');
    bar?.tick();
  }
  captions.end();
  scenes.end();
  await Promise.all([once(captions, 'finish'), once(scenes, 'finish')]);
  await rename(`${scenesPath}.partial`, scenesPath);
  await rename(`${captionsPath}.partial`, captionsPath);
  return { images: count, captions: rows };
}
