/**
 * Where the real photos and footage are: the sample data of two Debian packages, unpacked by
 * scripts/fetch-real-media.sh into data/cache/real-media, or into $LIVECAP_REAL_MEDIA when it is
 * set. Benchmarks and tests of what livecap does with the real world read them from here.
 */
import { existsSync } from 'node:fs';
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

export interface RealMedia {
  /** Photographs of real things: people, animals, objects, buildings, landscapes, the sky. */
  photos: string[];
  /** A fixed surveillance camera over a lawn with people walking (OpenCV's vtest.avi). */
  surveillance: string;
  /** A webcam on a tree moving in the wind. */
  webcam: string;
  /** An animated film clip. */
  animation: string;
}

// Photographs only: the packages also hold drawings, charts, logos, test patterns and scans.
const OPENCV_PHOTOS = [
  'aero1.jpg',
  'aero3.jpg',
  'aloeL.jpg',
  'apple.jpg',
  'baboon.jpg',
  'basketball1.png',
  'board.jpg',
  'box_in_scene.png',
  'building.jpg',
  'butterfly.jpg',
  'fruits.jpg',
  'graf1.png',
  'HappyFish.jpg',
  'home.jpg',
  'left01.jpg',
  'leuvenA.jpg',
  'licenseplate_motion.jpg',
  'messi5.jpg',
  'orange.jpg',
  'rubberwhale1.png',
  'smarties.png',
  'squirrel_cls.jpg',
  'stuff.jpg',
];
const SKIMAGE_PHOTOS = [
  'astronaut.png',
  'camera.png',
  'chelsea.png',
  'coffee.png',
  'coins.png',
  'grass.png',
  'gravel.png',
  'brick.png',
  'hubble_deep_field.jpg',
  'moon.png',
  'motorcycle_left.png',
  'rocket.jpg',
  'retina.jpg',
];

/** The photos and footage, or undefined when any is missing. */
export function realMedia(root = realMediaRoot()): RealMedia | undefined {
  const OPENCV = opencvData(root);
  const SKIMAGE = skimageData(root);
  const photos = [...OPENCV_PHOTOS.map((n) => join(OPENCV, n)), ...SKIMAGE_PHOTOS.map((n) => join(SKIMAGE, n))];
  const media = { photos, surveillance: join(OPENCV, 'vtest.avi'), webcam: join(OPENCV, 'tree.avi'), animation: join(OPENCV, 'Megamind.avi') };
  return [...photos, media.surveillance, media.webcam, media.animation].every((p) => existsSync(p)) ? media : undefined;
}
