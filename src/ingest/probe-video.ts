/**
 * What a source's video is (codec, pixel format, size; a file's length), read from the stream
 * description ffmpeg prints when it opens an input, with the same input arguments, whitelists and
 * timeouts as the stream's own ffmpeg. Live video copies a source only when browsers can play it
 * as it is (H.264 in 8-bit 4:2:0); anything else is encoded.
 */
import { spawn } from 'node:child_process';
import { FFMPEG, TextTail } from '../media/ffmpeg.js';
import { stopProcess } from './ffmpeg-frames.js';
import { type ArgOptions, INGEST_DEFAULTS, probeArgs } from './ffmpeg-args.js';
import type { Source } from './source.js';

export interface VideoDescription {
  codec: string;
  /** As ffmpeg names it: yuv420p, yuvj420p, yuv444p… */
  pixelFormat: string;
  width: number;
  height: number;
  /** A file's length in seconds; undefined for live sources. */
  durationSeconds?: number;
}

/** The input's first video stream in ffmpeg's description of its inputs (the text before "Stream mapping"). */
export function parseVideoDescription(text: string): VideoDescription | undefined {
  const inputs = text.split(/^(?:Stream mapping:|Output #0)/m)[0]!;
  const stream = /Stream #0:\d+[^:]*: Video: (\w+)[^,]*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)/.exec(inputs);
  if (!stream) return undefined;
  const duration = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(inputs);
  return {
    codec: stream[1]!,
    pixelFormat: stream[2]!,
    width: Number(stream[3]),
    height: Number(stream[4]),
    ...(duration && { durationSeconds: Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) }),
  };
}

/** Whether browsers play the video as it is, so live video may copy it. */
export function browserPlayable(video: VideoDescription): boolean {
  return video.codec === 'h264' && (video.pixelFormat === 'yuv420p' || video.pixelFormat === 'yuvj420p');
}

/** Opens the source once and says what its video is; undefined when it cannot say within the time. */
export function probeVideo(source: Source, options: ArgOptions & { timeoutMs?: number } = INGEST_DEFAULTS): Promise<VideoDescription | undefined> {
  // A webcam is held by the stream's own ffmpeg; a test pattern is raw video: both are encoded.
  if (source.kind === 'webcam' || source.kind === 'testsrc') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const child = spawn(FFMPEG, probeArgs(source, options), { stdio: ['ignore', 'ignore', 'pipe'] });
    const tail = new TextTail(16_384);
    child.stderr!.on('data', (chunk: Buffer) => tail.push(chunk));
    const timer = setTimeout(() => void stopProcess(child, 500), options.timeoutMs ?? options.readTimeoutMs);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.once('close', () => {
      clearTimeout(timer);
      resolve(parseVideoDescription(tail.toString()));
    });
  });
}
