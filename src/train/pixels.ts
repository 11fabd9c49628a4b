/** Loads dataset images, resized to a model's input, into one packed RGB24 array. */
import { join } from 'node:path';
import { readImage, resizeFrame } from '../media/image.js';
import { Progress } from '../util/progress.js';

export async function loadPixels(imagesDir: string, names: readonly string[], width: number, height: number, label = 'loading images'): Promise<Uint8Array> {
  const size = width * height * 3;
  const out = new Uint8Array(names.length * size);
  const bar = new Progress({ label, total: names.length });
  let next = 0;
  // A few reads in flight keep the disk busy while decoding runs.
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      const frame = await readImage(join(imagesDir, names[i]));
      out.set(resizeFrame(frame, width, height).data, i * size);
      bar.tick();
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}
