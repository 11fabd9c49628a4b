/**
 * Where the real photos and footage are: the sample data of two Debian packages, unpacked by
 * scripts/fetch-real-media.sh into data/cache/real-media, or into $LIVECAP_REAL_MEDIA when it is
 * set. Benchmarks and tests of what livecap does with the real world read them from here.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

export const REAL_MEDIA_ENV = 'LIVECAP_REAL_MEDIA';

export function realMediaRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env[REAL_MEDIA_ENV] || join(PROJECT_ROOT, 'data', 'cache', 'real-media');
}

/** opencv-doc's examples/data: ~60 photos and pictures, vtest.avi, tree.avi, Megamind.avi. */
export function opencvData(root = realMediaRoot()): string {
  return join(root, 'opencv-doc', 'usr', 'share', 'doc', 'opencv-doc', 'examples', 'data');
}

/** python3-skimage's skimage/data: astronaut, cat, coffee, rocket and more. */
export function skimageData(root = realMediaRoot()): string {
  return join(root, 'python3-skimage', 'usr', 'lib', 'python3', 'dist-packages', 'skimage', 'data');
}
