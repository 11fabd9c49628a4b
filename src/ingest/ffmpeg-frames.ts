/**
 * One ffmpeg process as a cold Observable of raw frames: subscribing spawns it, unsubscribing
 * stops it (SIGTERM, then SIGKILL after a grace period), and its exit becomes complete() or an
 * IngestError that says why. stderr is kept only as a bounded tail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Observable } from 'rxjs';
import { FFMPEG, TextTail } from '../media/ffmpeg.js';
import { FrameSplitter } from './frame-splitter.js';
import { classifyFfmpegFailure, IngestError } from './ffmpeg-errors.js';
import type { OutputSpec } from './ffmpeg-args.js';

export interface RawFrame {
  /** Frame number since this process started. */
  index: number;
  /** Media time in seconds since the process's first frame (index / fps). */
  pts: number;
  /** Wall-clock time (ms since the epoch) when the frame arrived. */
  capturedAt: number;
  width: number;
  height: number;
  /** Packed RGB24. */
  data: Uint8Array;
}

export interface ProcessOptions {
  /** Milliseconds between SIGTERM and SIGKILL. */
  graceMs?: number;
  /** Told each spawned process id (tests check that none is left behind). */
  onSpawn?: (pid: number) => void;
  ffmpegPath?: string;
}

/**
 * SIGTERM now, SIGKILL after `graceMs` if it has not exited. Resolves when it is gone. A
 * SIGCONT follows the SIGTERM: a stopped (frozen) process acts on the SIGTERM at once instead
 * of holding it until the SIGKILL.
 */
export function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
    child.kill('SIGCONT');
  });
}

export function ffmpegFrames(args: readonly string[], output: OutputSpec, options: ProcessOptions = {}): Observable<RawFrame> {
  return new Observable<RawFrame>((subscriber) => {
    const child = spawn(options.ffmpegPath ?? FFMPEG, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const tail = new TextTail(4096);
    const splitter = new FrameSplitter(output.width * output.height * 3);
    let index = 0;
    let stopping = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      const now = Date.now();
      for (const data of splitter.push(chunk)) {
        if (stopping) return;
        subscriber.next({ index, pts: index / output.fps, capturedAt: now, width: output.width, height: output.height, data });
        index++;
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => tail.push(chunk));
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (stopping) return;
      subscriber.error(err.code === 'ENOENT' ? new IngestError('ffmpeg missing', `cannot run '${options.ffmpegPath ?? FFMPEG}' (install ffmpeg or set LIVECAP_FFMPEG)`) : new IngestError('failed', err.message));
    });
    child.once('close', (code, signal) => {
      // An exit we asked for is not news.
      if (stopping) return;
      if (code === 0) subscriber.complete();
      else {
        const text = tail.lastLines(3);
        subscriber.error(new IngestError(classifyFfmpegFailure(tail.toString()), text || `ffmpeg exited (${signal ?? code})`, code));
      }
    });
    return () => {
      stopping = true;
      void stopProcess(child, options.graceMs ?? 2000);
    };
  });
}
