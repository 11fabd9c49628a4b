/**
 * Scene cuts of a video file, read as fast as ffmpeg decodes it: the offline face of the
 * scene gate, used by `livecap scenes` and the scene benchmark.
 */
import { lastValueFrom, toArray, map, filter } from 'rxjs';
import { ffmpegArgs } from '../ingest/ffmpeg-args.js';
import { ffmpegFrames } from '../ingest/ffmpeg-frames.js';
import type { SceneGateOptions } from './scene-gate.js';
import { sceneGate } from './operators/scene-gate.js';
import type { KeyframeReason } from '../core/events.js';

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
  return lastValueFrom(
    ffmpegFrames(args, output).pipe(
      sceneGate({ maxGapSec: 0, ...options.gate }),
      map(({ decision: d }) => d),
      filter((d) => d.reason === 'cut' || d.reason === 'gradual'),
      map((d) => ({ time: Number(d.cutAt.toFixed(3)), kind: d.reason as DetectedCut['kind'], score: Number(d.score.toFixed(4)) })),
      toArray(),
    ),
  );
}
