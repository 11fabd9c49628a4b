/** The first pictures of a dataset written by writeDataset, decoded, for tests that caption a few. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readImage } from '../../src/media/image.js';
import type { Frame } from '../../src/core/frame.js';

export async function datasetImages(datasetDir: string, n: number): Promise<Frame[]> {
  const names = (await readdir(join(datasetDir, 'Images'))).sort().slice(0, n);
  return Promise.all(names.map((f) => readImage(join(datasetDir, 'Images', f))));
}
