/**
 * Frames of a video file at a steady rate, decoded and scaled by ffmpeg exactly as a stream's
 * frames are (same arguments, area scaling): for measuring models on real footage.
 */
import { lastValueFrom, take, toArray } from 'rxjs';
import { ffmpegArgs } from './ffmpeg-args.js';
import { ffmpegFrames, type RawFrame } from './ffmpeg-frames.js';

export interface SampleOptions {
  fps: number;
  width: number;
  height: number;
  /** At most this many frames (default: all). */
  limit?: number;
}

export function sampleVideoFrames(path: string, options: SampleOptions): Promise<RawFrame[]> {
  const output = { fps: options.fps, width: options.width, height: options.height };
  const args = ffmpegArgs({ kind: 'file', input: path, loop: false, realtime: false }, output);
  return lastValueFrom(ffmpegFrames(args, output).pipe(take(options.limit ?? Infinity), toArray()));
}
