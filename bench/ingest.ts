/**
 * Ingest cost per frame: livecap's ingest (ffmpeg child + frame splitting and the scene gate
 * in Node) against ffmpeg alone decoding the same clip to the same size and discarding it,
 * in the same run. CPU time of ffmpeg comes from the shell's `times` after it exits; Node's
 * from process.cpuUsage().
 *
 *   livecap bench ingest [--seconds 60] [--runs 3]
 */
import { numberFlag, parseFlags, wantsHelp } from '../src/util/flags.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, writeFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, tap, count } from 'rxjs';
import { videoScript, writeVideo } from '../src/synth/video.js';
import { ffmpegArgs } from '../src/ingest/ffmpeg-args.js';
import { ffmpegFrames } from '../src/ingest/ffmpeg-frames.js';
import { SceneGate } from '../src/pipeline/scene-gate.js';
import { machineLine } from './machine.js';

const exec = promisify(execFile);

/** Sums the children's user + system seconds that bash's `times` printed. */
function childSeconds(times: string): number {
  const line = times.trim().split('\n')[1] ?? '';
  return [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((s, m) => s + Number(m[1]) * 60 + Number(m[2]), 0);
}

const HELP = `usage: livecap bench ingest [--seconds 60] [--runs 3]

  CPU cost per frame of livecap's ingest (ffmpeg, frame splitting, scene gate) against ffmpeg
  alone decoding the same clip to the same size.`;

export async function run(args: string[]): Promise<number> {
  if (wantsHelp(args, HELP)) return 0;
  const { values } = parseFlags(args, { seconds: { type: 'string' }, runs: { type: 'string' } });
  const seconds = numberFlag('seconds', values.seconds, 60);
  const runs = numberFlag('runs', values.runs, 3);
  const dir = await mkdtemp(join(tmpdir(), 'livecap-bench-ingest-'));
  try {
    const clip = join(dir, 'clip.mp4');
    await writeVideo(videoScript(3, { duration: seconds, width: 640, height: 480, fps: 25 }), clip);
    const output = { width: 160, height: 120, fps: 10 };
    const args = ffmpegArgs({ kind: 'file', input: clip, loop: false, realtime: false }, output);
    const timesFile = join(dir, 'times');
    const wrapper = join(dir, 'ffmpeg-timed');
    await writeFile(wrapper, `#!/bin/bash\nffmpeg "$@"\nrc=$?\ntimes > "${timesFile}"\nexit $rc\n`);
    await chmod(wrapper, 0o755);
    const rows: { baseline: number; livecap: number; frames: number }[] = [];
    for (let r = 0; r < runs; r++) {
      // Baseline: ffmpeg alone, same decode and scaling, output thrown away.
      await exec(wrapper, [...args.slice(0, -1), '-y', '/dev/null']);
      const baseline = childSeconds(await readFile(timesFile, 'utf8'));
      const cpu0 = process.cpuUsage();
      const gate = new SceneGate();
      const frames = await lastValueFrom(
        ffmpegFrames(args, output, { ffmpegPath: wrapper }).pipe(
          tap((f) => gate.push(f)),
          count(),
        ),
      );
      const node = process.cpuUsage(cpu0);
      const livecap = childSeconds(await readFile(timesFile, 'utf8')) + (node.user + node.system) / 1e6;
      rows.push({ baseline, livecap, frames });
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const frames = rows[0].frames;
    const base = mean(rows.map((r) => r.baseline));
    const live = mean(rows.map((r) => r.livecap));
    console.log(`ingest benchmark: ${machineLine()}`);
    console.log(`clip ${seconds}s 640×480 25 fps H.264 → ${output.width}×${output.height} at ${output.fps} fps (${frames} frames), ${runs} runs\n`);
    console.log('| path | CPU ms per frame |');
    console.log('|---|---|');
    console.log(`| ffmpeg alone (decode + scale, discard) | ${((base / frames) * 1000).toFixed(2)} |`);
    console.log(`| livecap ingest (ffmpeg + frame splitting + scene gate) | ${((live / frames) * 1000).toFixed(2)} |`);
    console.log(`\nratio ${(live / base).toFixed(2)} (target ≤ 1.3)`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
