/** `livecap scenes VIDEO`: the scene cuts of a video file, in seconds. */
import { access } from 'node:fs/promises';
import { intFlag, parseFlags, wantsHelp } from '../util/flags.js';
import { UsageError } from '../util/usage-error.js';
import { detectScenes, DETECT_DEFAULTS } from '../pipeline/detect-scenes.js';

const HELP = `usage: livecap scenes VIDEO [--json] [--fps N]

  Prints the time of each scene change in seconds, one per line (--json: an object with
  each cut's time, kind (cut or gradual) and score). --fps sets the analysis rate (default ${DETECT_DEFAULTS.fps}).`;

export async function scenesCommand(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values, positionals } = parseFlags(args, { json: { type: 'boolean' }, fps: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError(`expected one video: livecap scenes VIDEO (got ${positionals.length})`);
  const [video] = positionals;
  try {
    await access(video);
  } catch {
    throw new Error(`${video}: no such file`);
  }
  let cuts: Awaited<ReturnType<typeof detectScenes>>;
  try {
    cuts = await detectScenes(video, { fps: values.fps === undefined ? undefined : intFlag('fps', values.fps) });
  } catch (err) {
    throw new Error(`${video}: ${(err as Error).message}`);
  }
  if (values.json) console.log(JSON.stringify({ video, cuts }, null, 2));
  else for (const c of cuts) console.log(c.time.toFixed(2));
  return 0;
}
