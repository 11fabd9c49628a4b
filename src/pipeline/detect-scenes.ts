/**
 * Scene cuts of a video file, read as fast as ffmpeg decodes it: the offline face of the
 * scene gate, used by `livecap scenes` and the scene benchmark.
 */
import { lastValueFrom, toArray, map, filter } from 'rxjs';
import { ffmpegArgs } from '../ingest/ffmpeg-args.js';
import { ffmpegFrames } from '../ingest/ffmpeg-frames.js';
import { SceneGate, type SceneGateOptions, type KeyframeReason } from './scene-gate.js';

export interface DetectedCut {
  /** Seconds from the start of the video. */
  time: number;
  kind: Exclude<KeyframeReason, 'start' | 'heartbeat'>;
  score: number;
}

export interface DetectOptions {
  fps?: number;
  width?: number;
  height?: number;
  gate?: Partial<SceneGateOptions>;
}

export const DETECT_DEFAULTS = { fps: 10, width: 160, height: 120 } as const;

export async function detectScenes(videoPath: string, options: DetectOptions = {}): Promise<DetectedCut[]> {
  const output = { fps: options.fps ?? DETECT_DEFAULTS.fps, width: options.width ?? DETECT_DEFAULTS.width, height: options.height ?? DETECT_DEFAULTS.height };
  const args = ffmpegArgs({ kind: 'file', input: videoPath, loop: false, realtime: false }, output);
  const gate = new SceneGate({ maxGapSec: 0, ...options.gate });
  return lastValueFrom(
    ffmpegFrames(args, output).pipe(
      map((frame) => gate.push(frame)),
      filter((d): d is NonNullable<typeof d> => d !== undefined && (d.reason === 'cut' || d.reason === 'gradual')),
      map((d) => ({ time: Number(d.cutAt.toFixed(3)), kind: d.reason as DetectedCut['kind'], score: Number(d.score.toFixed(4)) })),
      toArray(),
    ),
  );
}
