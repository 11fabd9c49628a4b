/**
 * The built-in demo stream: a synthetic clip from the scene world, rendered once into the
 * cache folder and played in a loop at real speed, as if it were a live camera.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { videoScript, writeVideo } from '../synth/video.js';
import type { Source } from '../ingest/source.js';
import { PROJECT_ROOT } from '../paths.js';
import { log } from '../util/log.js';

export const DEMO_SEED = 7;
export const DEMO_SECONDS = 90;

export function cacheDir(): string {
  return process.env.LIVECAP_CACHE ?? join(PROJECT_ROOT, 'data', 'cache');
}

/** The demo clip's path, rendering it first if it is not there yet. */
export async function demoSource(): Promise<Source> {
  const dir = cacheDir();
  const path = join(dir, `demo-${DEMO_SEED}-${DEMO_SECONDS}s.mp4`);
  if (!existsSync(path)) {
    await mkdir(dir, { recursive: true });
    log.info('rendering the demo clip (once)', { path });
    await writeVideo(videoScript(DEMO_SEED, { duration: DEMO_SECONDS }), path);
  }
  return { kind: 'file', input: path, loop: true };
}
