/**
 * Real photos and footage nobody here made, from the sample data of two Debian packages,
 * unpacked by scripts/fetch-real-media.sh (which .ci/run runs) into data/cache/real-media or
 * $LIVECAP_REAL_MEDIA. Tests that need them skip, saying how to get them, where they are missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { opencvData, realMediaRoot, skimageData } from '../../bench/real-media.js';

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

const ROOT = realMediaRoot();
const OPENCV = opencvData(ROOT);
const SKIMAGE = skimageData(ROOT);

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

export const REAL_MEDIA_MISSING = `real photos and footage not found under ${ROOT}: run scripts/fetch-real-media.sh (CI does)`;

export function realMedia(): RealMedia | undefined {
  const photos = [...OPENCV_PHOTOS.map((n) => join(OPENCV, n)), ...SKIMAGE_PHOTOS.map((n) => join(SKIMAGE, n))];
  const media = { photos, surveillance: join(OPENCV, 'vtest.avi'), webcam: join(OPENCV, 'tree.avi'), animation: join(OPENCV, 'Megamind.avi') };
  return [...photos, media.surveillance, media.webcam, media.animation].every((p) => existsSync(p)) ? media : undefined;
}
